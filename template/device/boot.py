# boot.py runs first after every reset, before main.py.
#
# Keep it short and boring: no loops, no network, no sys.exit() (on esp32, rp2
# and stm32 that soft-reboots straight back into boot.py, forever). All it does
# is decide whether this is a safe-mode boot; main.py acts on the decision.
# An exception here would skip main.py, so the decision itself never raises.
import micropython

# Room to report an exception raised where the heap cannot allocate
# (the unix port of the virtual board has no such buffer).
if hasattr(micropython, "alloc_emergency_exception_buf"):
    micropython.alloc_emergency_exception_buf(100)

try:
    from runtime import safety
except Exception as e:  # lib/ missing or built for another MicroPython: main.py will fail and say so
    print("boot: runtime unavailable:", repr(e))
else:
    safety.decide()
    del safety  # main.py shares these globals on a board: let it drop the module after use
