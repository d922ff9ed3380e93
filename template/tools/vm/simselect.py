# `select` on the virtual board (simboot puts it in sys.modules): a poll() whose wait with a
# timeout runs on the virtual clock (tools/vm/simtime.py), so asyncio's sleeps, which wait in
# poll, skip ahead like time.sleep_ms() does. What is ready at once is returned at once.
import simtime
import uselect


def __getattr__(name):
    return getattr(uselect, name)


class _Poll:
    def __init__(self):
        self._p = uselect.poll()

    def register(self, *a):
        self._p.register(*a)

    def unregister(self, obj):
        self._p.unregister(obj)

    def modify(self, *a):
        self._p.modify(*a)

    def _wait(self, timeout):
        if timeout > 0 and not self._p.poll(0):
            simtime.sleep_ms(timeout)
            return 0
        return timeout

    def poll(self, timeout=-1):
        return self._p.poll(self._wait(timeout))

    def ipoll(self, timeout=-1, flags=0):
        return self._p.ipoll(self._wait(timeout), flags)


def poll():
    return _Poll()
