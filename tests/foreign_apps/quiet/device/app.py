# A quiet app: two asyncio tasks share a counter; it logs only at DEBUG.
import asyncio


async def _count(ctx, step):
    while True:
        ctx.count += step
        await asyncio.sleep_ms(5)


async def setup(ctx):
    ctx.count = 0
    ctx.tasks = [asyncio.create_task(_count(ctx, 1)), asyncio.create_task(_count(ctx, 2))]  # kept: not collected


async def loop(ctx):
    ctx.log.debug("count %d", ctx.count)
    await asyncio.sleep_ms(0)
