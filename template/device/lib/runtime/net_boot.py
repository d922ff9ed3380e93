# Wi-Fi at boot (runtime/launch, on a Wi-Fi project only): connect with a
# deadline, deep sleep when that fails and config wifi_on_fail says so, and
# load the over-the-air update check when ota_url is set. Dropped before the
# first tick with runtime/launch; runtime/net.Wifi keeps the link up after.
import time

import machine

from runtime.heartbeat import clear_crash_count
from runtime.net import Wifi


def start(ctx):
    log, conf = ctx.log, ctx.config
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
