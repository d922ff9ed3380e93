# The second step of the boot story (main.py): Wi-Fi, app.setup(ctx), then the
# heartbeat, app.loop(ctx) once per tick, for ever. The boot half (Wi-Fi,
# app.setup, the watchdog) is runtime/launch, dropped before the first tick.
#
# ctx, handed to app.setup(ctx) and app.loop(ctx):
#   ctx.log     debug / info / warning / error / exception
#   ctx.config  the validated settings (config.json over config.example.json)
#   ctx.board   facts about this board (runtime/target: LABEL, LED, BUTTON, ...)
#   ctx.tick    how many ticks have run
#   ctx.net     the Wi-Fi link (runtime/net.Wifi) or None
#   ctx.led     the status LED (on/off/value) or None
#   ctx.hw      this port's drivers (drivers/<sys.platform>)
#   ctx.reset(reason)  restart the board on purpose: logged, never counted as a crash
import gc
import os
import time

import machine
from micropython import const

import runtime
from runtime import CRASH_COUNT, target

TYPE_CHECKING = False  # the type checker reads it as True; MicroPython has no typing module
if TYPE_CHECKING:
    from collections.abc import Callable

    from runtime.net import Wifi

_STABLE_TICKS = const(10)  # ticks after which a boot counts as stable
_PULSE_MS = const(50)  # the status LED's blink at each tick: long enough for an eye


def clear_crash_count():
    # The app runs stably (or was stopped on purpose): not a crash loop (runtime/safety).
    try:
        os.remove(CRASH_COUNT)
    except OSError:
        pass


class Context:
    def __init__(self, log, config, hw, cause):
        self.log = log
        self.cause = cause  # the reset cause, said again once the boot is stable
        self.config = config
        self.board = target
        self.hw = hw
        self.tick = 0
        self.net: Wifi | None = None  # not evaluated: annotations in functions are skipped
        self.led = hw.led(target.LED, target.LED_ACTIVE_LOW)
        self.wdt = None
        self.failures = 0
        self.ota: Callable | None = None  # with config ota_url: runtime/ota_tick.check (runtime/launch)
        self.report_every = config["mem_report_ticks"]  # read once: run_tick is the hot path

    def feed(self):
        # Feed the watchdog; anything that waits long must call this.
        if self.wdt:
            self.wdt.feed()

    def reset(self, reason):
        # A restart the app asks for (new settings, a peripheral to start afresh):
        # the reason goes to the log, and the crash count is cleared first, so
        # that resets asked for never add up to safe mode (runtime/safety).
        self.log.warning("reset: %s", reason)
        self.log.flush()  # the batch on flash before the reset (runtime/log)
        clear_crash_count()
        machine.reset()

    def start_watchdog(self):
        # Started late (after Wi-Fi and app.setup, by runtime/launch or runtime/tasks) and only in
        # normal mode: once running it cannot be stopped, not even by a soft reset.
        if not target.WATCHDOG or self.wdt:
            return
        try:
            os.stat("NO_WATCHDOG")
            self.log.info("watchdog: off, NO_WATCHDOG file present")
            return
        except OSError:
            pass
        ms = self.config["watchdog_ms"]
        if target.WDT_MAX_MS and ms > target.WDT_MAX_MS:
            ms = target.WDT_MAX_MS
        self.wdt = self.hw.watchdog(ms)
        self.log.info("watchdog: on, %d ms", ms)

    def run_tick(self, loop):
        # One heartbeat: the app's loop, failure counting, Wi-Fi upkeep, watchdog.
        if self.led:
            self.led.on()  # off again after _PULSE_MS (the loop in _run)
        try:
            loop(self)
            self.failures = 0
        except Exception as e:
            self.loop_failed(e)
        self.tick_done()

    def loop_failed(self, e):
        if isinstance(e, MemoryError):
            gc.collect()
            self.failed("app.loop: MemoryError, %d bytes free after collect" % gc.mem_free(), None)
        else:
            self.failed("app.loop failed", e)

    def tick_done(self):
        # The rest of a heartbeat, once app.loop has returned (or failed).
        if self.net:
            try:
                self.net.keep_up()
            except Exception as e:  # a radio error must not stop the heartbeat
                self.log.exception("wifi: upkeep failed", e)
        self.feed()
        self.tick += 1
        if self.ota:  # over-the-air updates: checks, and a new version's stable boot
            self.ota(self)
        if self.tick == _STABLE_TICKS:
            clear_crash_count()
            # Again, for a console that USB connected after the boot: why this boot happened.
            self.log.info("boot: stable, reset cause %s", self.cause)
        every = self.report_every
        if every and self.tick % every == 0:
            self.log.info("memory: %d bytes free, %d in use", gc.mem_free(), gc.mem_alloc())
        self.log.flush()  # the tick's lines in one write (runtime/log)

    def failed(self, msg, exc):
        self.failures += 1
        msg = "%s (%d in a row)" % (msg, self.failures)
        if exc is None:
            self.log.error(msg)
        else:
            self.log.exception(msg, exc)
        if self.failures >= self.config["max_failures"]:
            self.log.error("%d failures in a row: resetting the board", self.failures)
            machine.reset()  # counted: runtime/safety sees a boot that did not run stably


def run(log, hw, conf, reset_cause):
    try:
        _run(log, hw, conf, reset_cause)
    except KeyboardInterrupt:  # Ctrl-C (a person or mpremote), not a crash
        clear_crash_count()
        log.flush()
        raise
    except Exception as e:  # crashed before or outside the heartbeat: log it, reset, count it
        log.exception("crash: %s" % e.__class__.__name__, e)
        machine.reset()


def _run(log, hw, conf, reset_cause):
    ctx = Context(log, conf, hw, reset_cause)
    from runtime import launch  # Wi-Fi, app.setup(ctx), the watchdog: boot-only, dropped after use

    app, started, is_async = launch.run(ctx)
    del launch
    runtime.forget("launch", "net_boot")
    if is_async:  # an async app: one asyncio event loop
        gc.collect()  # asyncio's objects want contiguous room: the boot's garbage out of the way
        from runtime import tasks

        tasks.run(ctx, started, app.loop, conf["loop_interval_ms"])  # never returns
    interval = conf["loop_interval_ms"]
    gc.collect()  # the boot half's code out of the way before the first tick
    while True:
        started = time.ticks_ms()
        ctx.run_tick(app.loop)
        gc.collect()
        spent = time.ticks_diff(time.ticks_ms(), started)
        wait = interval - spent if spent < interval else 0
        if ctx.led:  # lit at the tick's start, off after _PULSE_MS: app.loop's ~0.1 ms is unseen
            pulse = min(_PULSE_MS, wait // 2)  # and dark for at least as long
            time.sleep_ms(pulse)
            ctx.led.off()
            wait -= pulse
        hw.idle(wait)
