"""Stopping the Redis health check ends its task even when a check swallows the first cancellation, as a cancel racing
an expiring asyncio.timeout can (it comes out as TimeoutError, which the check reads as "Redis does not answer")."""

from __future__ import annotations

import asyncio

from service.cache.health import RedisHealth, RedisHealthCheck
from telemetry import Telemetry


class SwallowsOneCancel:
    """A Redis client whose PING turns the first cancellation into TimeoutError, like the 3.11 timeout race."""

    def __init__(self) -> None:
        self.pings = 0
        self.swallowed = False

    async def ping(self) -> bool:
        self.pings += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed = True
            raise TimeoutError from None
        return True


async def test_stop_ends_the_task_even_if_a_check_swallows_the_cancel():
    client = SwallowsOneCancel()
    check = RedisHealthCheck(
        client,  # type: ignore[arg-type]
        RedisHealth(Telemetry.disabled(), configured=True),
        interval_s=0.01,
        timeout_s=60,
    )
    check.start()
    while client.pings == 0:
        await asyncio.sleep(0.01)

    task = check._task
    assert task is not None
    stopper = asyncio.create_task(check.stop())
    # Bounded only so that the old behaviour fails instead of hanging (asyncio.wait does not cancel it).
    done, _ = await asyncio.wait({stopper}, timeout=5)
    try:
        assert stopper in done, "stop() is still waiting on a health task that swallowed its cancel"
        assert client.swallowed and task.done()
    finally:
        for pending in (stopper, task):
            pending.cancel()
