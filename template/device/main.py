# main.py runs after boot.py. It is the boot story of this firmware, top to
# bottom: safe mode, config, setup mode or normal mode, Wi-Fi, the heartbeat.
# It stays a small .py file (only boot.py and main.py run at boot); everything
# it imports is compiled to .mpy by `python -m tools build`.
#
# Only `except Exception` is used: Ctrl-C (KeyboardInterrupt) always reaches
# the REPL, so mpremote can take over the board at any time.
import gc
import time

from runtime import config, safety, target
from runtime.context import Context
from runtime.log import Log

log = Log(target.LOG_LEVEL, target.LOG_FILE, target.LOG_MAX_BYTES, target.LOG_BACKUPS)
hw = safety.driver()
reset_cause = safety.reset_cause()
log.info("boot: %s on %s, reset cause %s", target.PROJECT, target.LABEL, reset_cause)


def setup_mode(problem):
    # No usable config: no Wi-Fi, no app, no watchdog. Blink and explain.
    log.warning("setup mode: %s", problem)
    print("setup mode: write config.json (python -m tools config --push), then reset the board")
    wait = hw.idle
    if target.WIFI:  # and serve the setup page on the board's own access point
        gc.collect()  # load its code into a clean heap, so its buffers still find room
        from runtime import provision

        wait = provision.start(log, hw) or hw.idle
    led = hw.led(target.LED, target.LED_ACTIVE_LOW)
    tick = 0
    while True:
        if led:
            led.on() if tick & 1 else led.off()
        if tick % 240 == 0:  # a reminder every minute, on the console only: the log keeps the reason
            print("setup mode: waiting for config.json (%s)" % problem)
        tick += 1
        wait(250)


def normal_mode(conf):
    ctx = Context(log, conf, target, hw)
    if reset_cause == "SOFT_RESET":  # a watchdog started before the soft reset still runs: feed it now
        ctx.start_watchdog()
    if target.WIFI:
        from runtime.net import Wifi

        ctx.net = Wifi(conf, log)
        if not ctx.net.connect(ctx.feed) and conf["wifi_on_fail"] == "sleep":
            log.warning("wifi: deep sleep for %d ms, then a fresh boot", conf["wifi_retry_ms"])
            safety.app_stable()  # sleeping is not crashing
            import machine

            machine.deepsleep(conf["wifi_retry_ms"])
    import app

    app.setup(ctx)
    ctx.start_watchdog()
    interval = conf["loop_interval_ms"]
    while True:
        started = time.ticks_ms()
        ctx.run_tick(app.loop)
        gc.collect()
        spent = time.ticks_diff(time.ticks_ms(), started)
        hw.idle(interval - spent if spent < interval else 0)


def main():
    if safety.reason:
        log.warning("safe mode: %s; app not started, the REPL is yours", safety.reason)
        log.info("safe mode: fix the cause, then reset the board (mpremote reset)")
        return
    conf, problem = config.load(target.DEFAULTS, target.REQUIRED, (target.WDT_MAX_MS or 0) if target.WATCHDOG else None)
    if conf is None:
        return setup_mode(problem)
    log.level = log.level_of(conf["log_level"])
    for key in conf:
        if key not in target.DEFAULTS:
            log.warning("config.json: unknown key %s (not in config.example.json)", key)
    safety.app_starting()
    try:
        normal_mode(conf)
    except KeyboardInterrupt:  # Ctrl-C (a person or mpremote), not a crash
        safety.app_stable()
        raise
    except Exception as e:  # crashed before or outside the heartbeat: log it, reset, count it
        log.exception("crash: %s" % e.__class__.__name__, e)
        safety.reset()


main()
