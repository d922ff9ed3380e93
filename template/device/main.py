# main.py runs after boot.py. It tells the firmware's boot story in two steps,
# each a module of lib/runtime/ compiled to .mpy by `python -m tools build`
# (a board compiles main.py itself, in its own heap, at every boot, so this
# file stays short). The first step's code is dropped before the second runs:
# on a small board the heap it frees is the app's.
#
# Only `except Exception` is used anywhere: Ctrl-C (KeyboardInterrupt) always
# reaches the REPL, so mpremote can take over the board at any time.
import gc

import runtime
from runtime import startup

# 1. Safe mode, config.json, setup mode. Returns None in safe mode (the REPL is
#    yours); in setup mode it never returns; else what the next step needs.
ready = startup.run()
del startup
runtime.forget("startup", "config", "jsonscan", "safety")
gc.collect()

# 2. Wi-Fi, app.setup(ctx), then app.loop(ctx) once per tick, for ever.
if ready:
    from runtime import heartbeat

    heartbeat.run(*ready)
