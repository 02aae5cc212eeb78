"""The probe cache: the identity a provider reported for (provider, model_id), kept in Redis for PROMPTER_PROBE_TTL_S.

A cold key is probed once however many requests ask at the same time (single flight), and whenever Redis does not
answer the cache steps aside: the request probes the provider itself and the database's unique pvk keeps versions
correct. Only successful probes are stored; an identity's fields may be null (a provider that reports none), which is
cached too. Entries are the identity dict of service/providers/identity.py (key prefix v2: v1 held a bare string).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

from service.cache.health import RedisHealth
from service.providers.identity import Captured, is_captured
from telemetry import Telemetry

log = logging.getLogger("prompter.cache")

Probe = Callable[[], Awaitable[Captured]]

# What a failing Redis raises: redis-py's errors (its ConnectionError/TimeoutError included) and the OS's own.
REDIS_ERRORS: Final = (RedisError, OSError)
KEY_PREFIX: Final = "prompter:probe:v2"
LOCK_PREFIX: Final = "prompter:probe-lock:v1"


class _Missing:
    """No usable entry (absent or unreadable); distinct from a cached null identity."""


MISSING: Final = _Missing()


class ProbeCache:
    def __init__(
        self,
        client: Redis,
        health: RedisHealth,
        telemetry: Telemetry,
        *,
        ttl_s: float,
        lock_ttl_s: float,
        lock_wait_s: float,
        poll_s: float = 0.02,
    ) -> None:
        self.client = client
        self.health = health
        self.telemetry = telemetry
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.lock_ttl_s = lock_ttl_s
        self.lock_wait_s = lock_wait_s
        self.poll_s = poll_s

    @staticmethod
    def key(provider: str, model_id: str) -> str:
        # The provider is an allow-listed word without ':', so the model id after it cannot make two keys collide.
        return f"{KEY_PREFIX}:{provider}:{model_id}"

    async def get_or_probe(self, provider: str, model_id: str, probe: Probe) -> Captured:
        """The cached identity (a hit), or `probe()` once for everyone asking right now, stored for the TTL (a miss)."""
        if not self.health.up:
            # Known down: bypass without paying a timeout; the health check notices when it answers again.
            return await probe()
        key = self.key(provider, model_id)
        lock: Lock | None = None
        try:
            cached = await self._read(key)
            if isinstance(cached, _Missing):
                cached, lock = await self._wait_turn(provider, model_id, key)
        except REDIS_ERRORS as exc:
            self._unavailable(exc)
            return await probe()
        if not isinstance(cached, _Missing):
            self.telemetry.record_cache_hit()
            return cached
        self.telemetry.record_cache_miss()
        try:
            identity = await probe()
            await self.store(key, identity)
            return identity
        finally:
            if lock is not None:
                await self._release(lock)

    async def refresh(self, provider: str, model_id: str, probe: Probe) -> Captured:
        """Probe now whatever the cache holds, and overwrite the entry (`"refresh": true` on ensure-version)."""
        identity = await probe()
        # Tried even while Redis is marked down: a refresh is rare, and a stale entry left behind would hide drift.
        await self.store(self.key(provider, model_id), identity)
        return identity

    async def store(self, key: str, identity: Captured) -> None:
        try:
            await self.client.set(key, json.dumps({"identity": identity}), px=self.ttl_ms)
        except REDIS_ERRORS as exc:
            self._unavailable(exc)
            return
        self._answered()

    async def _read(self, key: str) -> Captured | _Missing:
        raw = await self.client.get(key)
        self._answered()
        if raw is None:
            return MISSING
        try:
            identity = json.loads(raw)["identity"]
            if is_captured(identity):
                return identity
        except (ValueError, TypeError, KeyError):
            pass
        log.warning("ignoring an unreadable probe-cache entry %s (it will be overwritten)", key)
        return MISSING

    async def _wait_turn(self, provider: str, model_id: str, key: str) -> tuple[Captured | _Missing, Lock | None]:
        """Single flight on a cold key: take the probe lock (SET NX PX), or poll the cache while another request holds
        it. Returns (identity, None) when the holder stored it meanwhile; (MISSING, lock) when this request is to probe;
        (MISSING, None) when the bounded wait ran out: probe anyway, the unique pvk still keeps versions right."""
        # thread_local=False: every call makes its own Lock, and asyncio tasks share one thread anyway.
        lock = self.client.lock(
            f"{LOCK_PREFIX}:{provider}:{model_id}", timeout=self.lock_ttl_s, blocking=False, thread_local=False
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_wait_s
        while True:
            if await lock.acquire():
                try:
                    # The previous holder may have stored the identity between our first read and our lock.
                    cached = await self._read(key)
                except BaseException:
                    await self._release(lock)
                    raise
                if isinstance(cached, _Missing):
                    return MISSING, lock
                await self._release(lock)
                return cached, None
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.info(
                    "probe-cache wait for %s/%s ran out after %.2fs; probing anyway",
                    provider,
                    model_id,
                    self.lock_wait_s,
                )
                return MISSING, None
            await asyncio.sleep(min(self.poll_s, remaining))
            cached = await self._read(key)
            if not isinstance(cached, _Missing):
                return cached, None

    async def _release(self, lock: Lock) -> None:
        try:
            await lock.release()
        except LockError:
            # It expired first (a probe slower than PROMPTER_PROBE_LOCK_TTL_S): nothing left to release.
            log.info("probe lock %s expired before its probe finished", lock.name)
        except REDIS_ERRORS as exc:
            self._unavailable(exc)  # the lock key expires on its own

    def _answered(self) -> None:
        if not self.health.up:
            self.health.mark(True)

    def _unavailable(self, exc: BaseException) -> None:
        self.health.mark(False, f"probe cache: {exc!r}")
