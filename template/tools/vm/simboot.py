# Boots the virtual board like a real one: boot.py, then main.py (skipped when
# boot.py raised), then "the REPL", which ends the run.
import sys

try:
    import boot  # noqa: F401
    ok = True
except Exception as e:
    sys.print_exception(e)
    ok = False
if ok:
    import main  # noqa: F401
print("sim: firmware returned to the REPL")
