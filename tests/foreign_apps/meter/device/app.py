# A sensor node: reads a (simulated) meter every few ticks and reports it in
# its own line format. Its settings are its own, read with defaults.
from meter import Meter
from units import celsius


def setup(ctx):
    ctx.meter = Meter(ctx.config.get("meter_seed", 7))
    ctx.every = ctx.config.get("report_every", 3)
    ctx.log.info("[node %s] ready, reporting every %d ticks", ctx.config.get("node_name", "n1"), ctx.every)


def loop(ctx):
    raw = ctx.meter.read()
    if ctx.tick % ctx.every == 0:
        ctx.log.info("[node] t=%d temp=%s", ctx.tick, celsius(raw))
    if raw > ctx.config.get("alarm_above", 900):
        ctx.log.warning("[node] reading %d over the alarm level", raw)
