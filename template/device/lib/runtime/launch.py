# The heartbeat's boot half (runtime/heartbeat): Wi-Fi (runtime/net_boot),
# app.setup(ctx), the watchdog's start. All of it runs once per boot, so the
# heartbeat drops these modules before its first tick (as main.py drops
# runtime/startup): their code holds no heap while the app runs.
from runtime import target


async def _coroutine():
    pass


# On MicroPython an `async def` function has this type (a plain def is a "function").
_ASYNC = type(_coroutine)


def run(ctx):
    # Returns (app, started, is_async): started is what app.setup returned (an
    # async setup's coroutine); a plain app's watchdog is on already.
    if ctx.cause == "SOFT_RESET":  # a watchdog started before the soft reset still runs: feed it now
        ctx.start_watchdog()
    if target.WIFI:  # Wi-Fi's boot half (runtime/net_boot), dropped with this module
        from runtime import net_boot

        net_boot.start(ctx)
    import app

    started = app.setup(ctx)
    is_async = started is not None or type(app.loop) is _ASYNC
    if not is_async:  # an async app starts it after its setup's coroutine (runtime/tasks)
        ctx.start_watchdog()
    return app, started, is_async
