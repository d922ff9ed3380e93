# The heartbeat's boot half (runtime/heartbeat): Wi-Fi, app.setup(ctx), the
# watchdog's start. All of it runs once per boot, so the heartbeat drops this module
# before its first tick (as main.py drops runtime/startup): its code holds no
# heap while the app runs.
import time

import machine

from runtime import target
from runtime.heartbeat import clear_crash_count


async def _coroutine():
    pass


# On MicroPython an `async def` function has this type (a plain def is a "function").
_ASYNC = type(_coroutine)


def run(ctx):
    # Returns (app, started, is_async): started is what app.setup returned (an
    # async setup's coroutine); a plain app's watchdog is on already.
    log, conf = ctx.log, ctx.config
    if ctx.cause == "SOFT_RESET":  # a watchdog started before the soft reset still runs: feed it now
        ctx.start_watchdog()
    if target.WIFI:
        from runtime.net import Wifi

        ctx.net = Wifi(conf, log)
        if not connect(ctx.net, ctx.feed) and conf["wifi_on_fail"] == "sleep":
            sleep = conf["wifi_retry_ms"]
            log.warning("wifi: deep sleep for %d ms, then a fresh boot", sleep)
            clear_crash_count()  # sleeping is not crashing
            log.flush()
            machine.deepsleep(sleep)
        if conf.get("ota_url", ""):  # over-the-air updates: the first check at tick 1
            from runtime.ota_tick import check

            ctx.ota = check
    import app

    started = app.setup(ctx)
    is_async = started is not None or type(app.loop) is _ASYNC
    if not is_async:  # an async app starts it after its setup's coroutine (runtime/tasks)
        ctx.start_watchdog()
    return app, started, is_async


def connect(net, feed):
    # Blocking, with a deadline: once at boot (runtime/net.Wifi reconnects later without blocking).
    conf, log, wlan = net.config, net.log, net.wlan
    timeout = conf["wifi_timeout_ms"]
    log.info("wifi: connecting to %s", conf["wifi_ssid"])
    net._start()
    started = time.ticks_ms()
    while not wlan.isconnected():
        waited = time.ticks_diff(time.ticks_ms(), started)
        if waited > timeout:
            net._give_up(waited)
            net._next = time.ticks_add(time.ticks_ms(), net.retry_ms)
            return False
        feed()
        time.sleep_ms(100)
    log.info("wifi: connected, address %s", wlan.ifconfig()[0])
    return True
