# main.py runs after boot.py: the boot story in two steps, modules of
# lib/runtime/ compiled to .mpy (a board compiles this file at every boot, in
# its own heap: it stays short). The first step is dropped before the second
# runs: the heap it frees is the app's.
#
# Only `except Exception` anywhere: Ctrl-C (KeyboardInterrupt) always reaches
# the REPL, so mpremote can take over the board at any time.
import gc

import micropython

# Room to report an exception raised where the heap cannot allocate
# (the unix port of the virtual board has no such buffer).
if hasattr(micropython, "alloc_emergency_exception_buf"):
    micropython.alloc_emergency_exception_buf(100)

# boot.py's decision, in the globals boot.py and main.py share: why this is a
# safe-mode boot, or None (also when boot.py is not ours).
reason = globals().get("safe_mode")

if reason:
    # 0. Safe mode: say why (a USB board's boot.py is not heard), log it, light
    #    the LED, return: the REPL is yours. Nothing of lib/ is imported (a
    #    half-copied .mpy could hang).
    print("safe mode: %s; app not started, the REPL is yours" % reason)
    print("safe mode: fix the cause, then reset the board (mpremote reset)")
    try:  # boot.py's facts (not a pyboard's pyb.LED)
        from machine import Pin

        button, _, led, low = globals()["BUTTON"]
        if button != "USR":
            Pin(led, Pin.OUT).value(not low)
    except Exception:  # no LED
        pass
    try:  # one line, under the log's cap (runtime/log rotates it later)
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
