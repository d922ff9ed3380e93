# The runtime owned by the template: the boot story's steps (startup, then the
# heartbeat) and what they use: config, log, net, safety. `copier update` keeps
# these files current; put your own code in app.py and in modules of your own.
import sys

CRASH_COUNT = "boot_count"  # boots that crashed before the app ran stably (runtime/safety)


def forget(*names):
    # Drop finished boot steps (runtime.<name>) from memory: once nothing refers
    # to a module, the garbage collector frees its code for the app's use.
    for name in names:
        sys.modules.pop("runtime." + name, None)
        globals().pop(name, None)  # a package holds its imported submodules too
