# The object handed to app.setup(ctx) and app.loop(ctx), and the heartbeat tick.
#
#   ctx.log     debug / info / warning / error / exception
#   ctx.config  the validated settings (config.json over config.example.json)
#   ctx.board   facts about this board (runtime/target: LABEL, LED, BUTTON, ...)
#   ctx.tick    how many ticks have run
#   ctx.net     the Wi-Fi link (runtime/net.Wifi) or None
#   ctx.led     the status LED (on/off/value) or None
#   ctx.hw      this port's drivers (drivers/<sys.platform>)
import gc

from micropython import const

from runtime import safety

TYPE_CHECKING = False  # the type checker reads it as True; MicroPython has no typing module
if TYPE_CHECKING:
    from runtime.net import Wifi

_STABLE_TICKS = const(10)  # ticks after which a boot counts as stable


class Context:
    def __init__(self, log, config, board, hw):
        self.log = log
        self.config = config
        self.board = board
        self.hw = hw
        self.tick = 0
        self.net: Wifi | None = None  # not evaluated: annotations in functions are skipped
        self.led = hw.led(board.LED, board.LED_ACTIVE_LOW)
        self.wdt = None
        self.failures = 0

    def feed(self):
        # Feed the watchdog; anything that waits long must call this.
        if self.wdt:
            self.wdt.feed()

    def start_watchdog(self):
        # Started late (after Wi-Fi and app.setup) and only in normal mode: once
        # running it cannot be stopped, not even by a soft reset.
        if not self.board.WATCHDOG or self.wdt:
            return
        if safety.exists(safety.NO_WATCHDOG_FLAG):
            self.log.info("watchdog: off, %s file present", safety.NO_WATCHDOG_FLAG)
            return
        ms = self.config["watchdog_ms"]
        if self.board.WDT_MAX_MS and ms > self.board.WDT_MAX_MS:
            ms = self.board.WDT_MAX_MS
        self.wdt = self.hw.watchdog(ms)
        self.log.info("watchdog: on, %d ms", ms)

    def run_tick(self, loop):
        # One heartbeat: the app's loop, failure counting, Wi-Fi upkeep, watchdog.
        if self.led:
            self.led.on()
        try:
            loop(self)
            self.failures = 0
        except MemoryError:
            gc.collect()
            self._failed("app.loop: MemoryError, %d bytes free after collect" % gc.mem_free(), None)
        except Exception as e:
            self._failed("app.loop failed", e)
        if self.led:
            self.led.off()
        if self.net:
            try:
                self.net.keep_up()
            except Exception as e:  # a radio error must not stop the heartbeat
                self.log.exception("wifi: upkeep failed", e)
        self.feed()
        self.tick += 1
        if self.tick == _STABLE_TICKS:
            safety.app_stable()
        every = self.config["mem_report_ticks"]
        if every and self.tick % every == 0:
            self.log.info("memory: %d bytes free, %d in use", gc.mem_free(), gc.mem_alloc())

    def _failed(self, msg, exc):
        self.failures += 1
        msg = "%s (%d in a row)" % (msg, self.failures)
        if exc is None:
            self.log.error(msg)
        else:
            self.log.exception(msg, exc)
        if self.failures >= self.config["max_failures"]:
            self.log.error("%d failures in a row: resetting the board", self.failures)
            safety.reset()
