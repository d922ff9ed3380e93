# The heartbeat of an async app: one asyncio event loop for the whole app.
#
# Loaded only when app.setup or app.loop is `async def` (runtime/heartbeat),
# so a plain app never pays for asyncio. The heartbeat is a task like the
# app's own: each tick it awaits app.loop(ctx), then feeds the watchdog and
# collects garbage, then sleeps until the next tick, which lets the tasks
# that setup() created run in between. The watchdog is fed only when a tick
# completes, so a task that blocks the loop (a sleep without await) resets
# the board. An exception in any task is logged and counted like a failing
# app.loop; Ctrl-C still stops everything and reaches the REPL.
import asyncio
import gc
import time


def run(ctx, started, loop, interval):
    asyncio.get_event_loop().set_exception_handler(
        lambda _, context: ctx.failed("task failed", context["exception"]))
    asyncio.run(_heartbeat(ctx, started, loop, interval))


async def _heartbeat(ctx, started, loop, interval):
    if started is not None:  # the rest of an async setup(ctx)
        await started
    ctx.start_watchdog()
    while True:
        begun = time.ticks_ms()
        if ctx.led:
            ctx.led.on()
        try:
            ticked = loop(ctx)
            if ticked is not None:  # an async loop; a plain one has run already
                await ticked
            ctx.failures = 0
        except Exception as e:
            ctx.loop_failed(e)
        ctx.tick_done()
        gc.collect()
        ctx.hw.idle(0)  # a tick for the virtual board's --ticks; nothing on a board
        spent = time.ticks_diff(time.ticks_ms(), begun)
        wait = interval - spent if spent < interval else 0
        if ctx.led:  # the LED's blink (heartbeat.Context.blink), without blocking the other tasks
            pulse = min(50, wait // 2)
            await asyncio.sleep_ms(pulse)
            ctx.led.off()
            wait -= pulse
        await asyncio.sleep_ms(wait)
