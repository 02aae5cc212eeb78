"""The Redis client this app uses, and the object that owns it for the app's lifetime (client, health check, cache)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from service.cache.health import RedisHealth, RedisHealthCheck
from service.cache.probe_cache import ProbeCache
from service.settings import Settings
from telemetry import Telemetry


def create_client(url: str, *, timeout_s: float) -> Redis:
    """A redis.asyncio client tuned for a cache that may be gone: short connect/read timeouts and no retries.

    redis-py's default (3 retries, exponential backoff from 1 s) would turn a dead Redis into seconds per request; here
    it costs one refused connect or one timeout, after which the cache is bypassed until the health check hears Redis
    again. Connections are opened lazily, so building the client never blocks and never fails on a down Redis.
    """
    return Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0))


class RedisCache:
    """Redis as the app uses it. Built in the lifespan only when REDIS_URL is set; `start()` pings once (so the gauge is
    right from the first scrape) and starts the background health check; `aclose()` stops both."""

    def __init__(self, settings: Settings, health: RedisHealth, telemetry: Telemetry) -> None:
        if not settings.redis.url:
            raise ValueError("RedisCache needs REDIS_URL")
        self.client = create_client(settings.redis.url, timeout_s=settings.redis.timeout_s)
        self.health_check = RedisHealthCheck(
            self.client, health, interval_s=settings.redis.health_interval_s, timeout_s=settings.redis.timeout_s
        )
        self.probe_cache = ProbeCache(
            self.client,
            health,
            telemetry,
            ttl_s=settings.redis.probe_ttl_s,
            lock_ttl_s=settings.redis.probe_lock_ttl_s,
            lock_wait_s=settings.redis.probe_lock_wait_s,
        )

    @classmethod
    def from_settings(cls, settings: Settings, health: RedisHealth, telemetry: Telemetry) -> RedisCache | None:
        return cls(settings, health, telemetry) if settings.redis.url else None

    async def start(self) -> None:
        await self.health_check.check()
        self.health_check.start()

    async def aclose(self) -> None:
        await self.health_check.stop()
        await self.client.aclose()
