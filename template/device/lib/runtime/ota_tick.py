# Over-the-air update checks from the heartbeat (runtime/heartbeat calls check
# at the end of each tick). runtime/launch loads this only when config.json
# sets ota_url, so a project without it (or without Wi-Fi) holds none of it.
import time

due = time.ticks_ms()  # ticks_ms of the next look for a new version: the first at tick 1


def check(ctx):
    # At tick 1 (report the version), at the stable tick (runtime/heartbeat: the
    # version is good) and once ticks_ms reaches `due` (look for a new one).
    global due
    at = due
    if ctx.tick in (1, 10) or time.ticks_diff(time.ticks_ms(), at) >= 0:
        try:
            from runtime import ota  # loaded only while it works (runtime/ota)

            due = ota.due(ctx, at)
        except Exception as e:  # MemoryError loading it, a full flash: the app runs on
            due = time.ticks_add(time.ticks_ms(), ctx.config.get("ota_check_ms", 3600000))
            ctx.log.warning("ota: %r", e)
