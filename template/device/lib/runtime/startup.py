# The first step of the boot story (main.py): the boot log, config.json, setup mode.
#
# Everything here runs once per boot. main.py drops this module (and config,
# safety) once run() returns, so none of it holds heap while the app runs; setup
# mode drops config and safety itself before it loads the setup page.
import gc
import sys

import runtime
from runtime import target
from runtime.log import Log


def run():
    # Returns (log, hw, conf, reset_cause) for the app; in setup mode it never returns.
    # (Safe mode never gets here: main.py handles it without lib/.)
    # config.json first, while little else is loaded: its check is the boot's peak.
    conf, problem, unknown = _config()
    runtime.forget("config", "jsonscan", "schema")
    gc.collect()
    log = Log(target.LOG_LEVEL, target.LOG_FILE, target.LOG_MAX_BYTES, target.LOG_BACKUPS)
    hw = __import__("drivers." + sys.platform, None, None, ("led",))  # this port's drivers (drivers/)
    cause = _reset_cause()
    log.info("boot: %s on %s, reset cause %s", target.PROJECT, target.LABEL, cause)
    if conf is None:
        return setup_mode(log, hw, problem)  # it never returns
    log.level = log.level_of(conf["log_level"])
    for key in unknown:
        log.warning("config.json: unknown key %s (in neither config.example.json nor app-settings.json)", key)
    from runtime import safety

    safety.app_starting()
    return log, hw, conf, cause


# Each boot-time module is imported where it is used, so that setup mode can drop it.
def _reset_cause():
    from runtime import safety

    return safety.reset_cause()


def _config():
    gc.collect()  # the garbage of compiling main.py out of the way: config's code wants room
    from runtime import config, schema

    conf, problem = config.load(*config.rules(target, schema))
    return conf, problem, [key for key in conf or () if key not in schema.DEFAULTS]


def setup_mode(log, hw, problem):
    # No usable config: no Wi-Fi, no app, no watchdog. Blink and explain. Never returns.
    log.warning("setup mode: %s", problem)
    runtime.forget("safety")  # the setup page loads what it needs
    print("setup mode: write config.json (python -m tools config --push), then reset the board")
    wait = hw.idle
    if target.WIFI:  # and serve the setup page on the board's own access point
        wait = _setup_page(log, hw) or hw.idle
    led = hw.led(target.LED, target.LED_ACTIVE_LOW)
    tick = 0
    while True:
        if led:
            led.on() if tick & 1 else led.off()
        if tick % 240 == 0:  # a reminder every minute, on the console only: the log keeps the reason
            print("setup mode: waiting for config.json (%s)" % problem)
        tick += 1
        log.flush()  # what the setup page logged, in one write
        wait(250)


def _setup_page(log, hw):
    # The setup loop's wait: runtime/provision's Portal.serve, or None when the page cannot be served.
    gc.collect()  # its code and buffers want contiguous room: free what the boot left behind first
    try:
        from runtime import provision

        return provision.Portal(log, hw).serve
    except OSError as e:
        log.error("setup page: cannot start (OSError %d); use python -m tools config --push", e.errno)
    except MemoryError:
        gc.collect()
        log.error("setup page: not enough memory (%d bytes free); use python -m tools config --push",
                  gc.mem_free())
    return None
