# main.py runs after boot.py. It tells the firmware's boot story in two steps,
# each a module of lib/runtime/ compiled to .mpy by `python -m tools build`
# (a board compiles main.py itself, in its own heap, at every boot, so this
# file stays short). The first step's code is dropped before the second runs:
# on a small board the heap it frees is the app's.
#
# Only `except Exception` is used anywhere: Ctrl-C (KeyboardInterrupt) always
# reaches the REPL, so mpremote can take over the board at any time.
import gc

import micropython

# Room to report an exception raised where the heap cannot allocate
# (the unix port of the virtual board has no such buffer).
if hasattr(micropython, "alloc_emergency_exception_buf"):
    micropython.alloc_emergency_exception_buf(100)

# boot.py's decision, left in the globals that boot.py and main.py share on a
# board (`python -m tools sim` runs them the same way): why this is a safe-mode
# boot, or None. No boot.py (or one from elsewhere): no decision, no safe mode.
reason = globals().get("safe_mode")

if reason:
    # 0. Safe mode: say why (on a USB board nobody heard boot.py), note it in the
    #    log and return: the REPL is yours. Nothing of lib/ is imported: a
    #    half-copied .mpy could hang its import, and safe mode is the way out.
    print("safe mode: %s; app not started, the REPL is yours" % reason)
    print("safe mode: fix the cause, then reset the board (mpremote reset)")
    try:  # the status LED lit and left so: safe mode at a glance
        button, _, led, low = globals()["BUTTON"]  # boot.py's (see there)
        if button == "USR":  # a pyboard: pyb.LED
            from pyb import LED  # pyright: ignore[reportMissingImports]

            LED(led).on()
        elif led is not None:
            from machine import Pin

            Pin(led, Pin.OUT).value(0 if low else 1)
    except Exception:  # no boot.py of ours, or no LED
        pass
    try:  # one line, while the log is under its cap (runtime/log rotates it later)
        import time

        path, cap = globals()["LOG"]  # boot.py's too: (log file, its cap), or None
        with open(path, "a") as f:
            if f.seek(0, 2) < cap:
                ms = time.ticks_ms()
                line = "%d.%03d WARNING safe mode: %s\n" % (ms // 1000, ms % 1000, reason)  # pyright: ignore[reportOperatorIssue]
                f.write(line)
    except Exception:  # no log file in this project, or a full flash: the console has it
        pass
else:
    # 1. Boot log, config.json, setup mode. In setup mode it never returns;
    #    else it returns what the next step needs.
    import runtime
    from runtime import startup

    ready = startup.run()
    del startup
    runtime.forget("startup", "config", "jsonscan", "safety")
    gc.collect()

    # 2. Wi-Fi, app.setup(ctx), then app.loop(ctx) once per tick, for ever.
    from runtime import heartbeat

    heartbeat.run(*ready)
