"""Whether Redis answers: the state /readyz reports and prompter_redis_up shows, and the background check keeping it live."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis

from telemetry import Telemetry
from telemetry.quiet import untraced

log = logging.getLogger("prompter.cache")


class RedisHealth:
    """What /readyz reports for Redis and what the prompter_redis_up gauge says: up, down or disabled.

    Two writers keep it current: the background `RedisHealthCheck` (every PROMPTER_REDIS_HEALTH_INTERVAL_S) and the
    probe cache, which marks Redis down the moment one of its calls fails.
    """

    def __init__(self, telemetry: Telemetry, *, configured: bool) -> None:
        self.telemetry = telemetry
        self.configured = configured
        self.up = False

    @property
    def status(self) -> str:
        if not self.configured:
            return "disabled"
        return "up" if self.up else "down"

    def mark(self, up: bool, reason: object = None) -> None:
        if up != self.up and self.configured:
            if up:
                log.info("redis is up")
            else:
                log.warning("redis is down, probe cache bypassed until it answers again (%s)", reason or "no answer")
        self.up = up
        self.telemetry.set_redis_up(up)


class RedisHealthCheck:
    """PING every `interval_s` in a background task; the answer (or its absence within `timeout_s`) marks the health."""

    def __init__(self, client: Redis, health: RedisHealth, *, interval_s: float, timeout_s: float) -> None:
        self.client = client
        self.health = health
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        try:
            # A PING every few seconds would be a root span of its own each time: keep it out of the traces.
            with untraced():
                # The socket timeouts bound each step already; this also bounds a connect followed by a slow reply.
                async with asyncio.timeout(self.timeout_s * 2):
                    await self.client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means "Redis does not answer"
            self.health.mark(False, f"health check: {exc!r}")
            return False
        self.health.mark(True)
        return True

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="prompter-redis-health")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check()

    async def stop(self) -> None:
        if self._task is None:
            return
        task, self._task = self._task, None
        # A cancel that lands while a check's asyncio.timeout is expiring can come out of it as TimeoutError (Python
        # 3.11), which check() treats as "Redis does not answer": the loop would go on and `await task` would wait
        # forever, hanging the app's shutdown. Cancel again until the task has really ended.
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)
        with contextlib.suppress(asyncio.CancelledError):
            await task
