# Your code. The runtime calls setup(ctx) once after boot in normal mode, then
# loop(ctx) once per tick (every loop_interval_ms). Keep loop() short: it
# should return well within a tick, and allocate nothing that must outlive it.
# `copier update` never touches this file.
#
#   ctx.log.info("...")      log to the console and the rotating log file
#   ctx.config["key"]        settings from config.json (defaults: config.example.json)
#   ctx.board.LABEL          facts about this board
#   ctx.tick                 ticks run so far
#   ctx.net                  the Wi-Fi link, or None
#   ctx.reset("why")         restart the board (logged; never counted as a crash)
#
# setup() must return: the heartbeat and the watchdog start after it. More in
# docs/writing-your-app.md (settings, modules of your own, tests, timing).


def setup(ctx):
    ctx.log.info("app: hello from %s", ctx.board.LABEL)


def loop(ctx):
    if ctx.tick % 10 == 0:
        ctx.log.info("app: tick %d", ctx.tick)
