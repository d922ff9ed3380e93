# main.py runs after boot.py. It tells the firmware's boot story in two steps,
# each a module of lib/runtime/ compiled to .mpy by `python -m tools build`
# (a board compiles main.py itself, in its own heap, at every boot, so this
# file stays short). The first step's code is dropped before the second runs:
# on a small board the heap it frees is the app's.
#
# Only `except Exception` is used anywhere: Ctrl-C (KeyboardInterrupt) always
# reaches the REPL, so mpremote can take over the board at any time.
import gc

# boot.py's decision: why this is a safe-mode boot, or None. On a board boot.py
# and main.py share their globals (`python -m tools sim` runs them the same way).
reason = globals().get("safe_mode")

# 1. The boot log, safe mode, config.json, setup mode. Returns None in safe mode
#    (the reason is logged and printed here: on a USB board nobody heard boot.py;
#    the REPL is yours); in setup mode it never returns; else what step 2 needs.
try:
    import runtime
    from runtime import startup

    ready = startup.run(reason)
    del startup
    runtime.forget("startup", "config", "safety")
except Exception as e:  # a half-copied lib/ (an interrupted deploy): safe mode, the REPL stays free
    print("safe mode: %s" % (reason or "lib/runtime failed"))
    print("safe mode: lib/runtime failed (%r), nothing logged; the REPL is yours: "
          "deploy the firmware again (python -m tools deploy)" % e)
    ready = None
gc.collect()

# 2. Wi-Fi, app.setup(ctx), then app.loop(ctx) once per tick, for ever.
if ready:
    from runtime import heartbeat

    heartbeat.run(*ready)
