"""Single flight: N concurrent ensure-versions on a cold cache make one provider probe. Real concurrency: the app runs
under uvicorn in a thread and 20 requests go out at once over 20 sockets; on SQLite and on PostgreSQL.

The ProbeCache tests below drive the class directly against the real Redis for the paths HTTP cannot steer: the
lock holder's probe failing, the bounded wait running out, the lock expiring under a slow probe.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from service.app import create_app
from service.cache import ProbeCache, RedisHealth, create_client
from service.http.errors import ProviderError
from service.settings import Settings
from telemetry import Telemetry
from tests.integration.redis.cache_support import TEMPLATE, counting_registry, sample
from tests.support.live_server import LiveServer

BURST = 20
# A real provider takes a few hundred ms to answer a one-token probe. Longer here on purpose: on SQLite every request's
# first transaction queues for the write lock (BEGIN IMMEDIATE), and on a loaded machine 20 of them can take several
# hundred ms to get through; the burst must reach the cache while the first probe is still running.
PROBE_DELAY_S = 1.0


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


async def burst(base_url: str, body: dict) -> tuple[list[httpx.Response], list[dict], str]:
    limits = httpx.Limits(max_connections=BURST + 5, max_keepalive_connections=BURST + 5)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        created = await http.post("/api/prompt-templates", json=TEMPLATE)
        assert created.status_code == 201, created.text
        tid = created.json()["id"]
        responses = await asyncio.gather(
            *(http.post(f"/api/prompt-templates/{tid}/ensure-version", json=body) for _ in range(BURST))
        )
        versions = (await http.get(f"/api/prompt-templates/{tid}/versions")).json()["items"]
        metrics = (await http.get("/metrics")).text
    return list(responses), versions, metrics


def run_burst(settings: Settings) -> tuple[list[httpx.Response], list[dict], str, int]:
    registry, fakes = counting_registry(delay_s=PROBE_DELAY_S)
    with LiveServer(create_app(settings, providers=registry)) as base_url:
        responses, versions, metrics = asyncio.run(burst(base_url, {"provider": "openai", "model_id": "gpt-4o"}))
    return responses, versions, metrics, fakes["openai"].probes


def test_concurrent_cold_ensure_versions_make_one_probe(db_url, redis_url):
    # Redis timeout raised from 0.25 s: on a loaded machine one slow reply would mark Redis down and bypass the cache,
    # which is the degradation tests' subject, not this one's.
    settings = Settings(db_url=db_url, db_auto_migrate=True, redis_url=redis_url, redis_timeout_s=2.0)
    responses, versions, metrics, probes = run_burst(settings)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (BURST - 1) + [201], [r.text for r in responses if r.status_code >= 300]
    assert probes == 1
    assert len(versions) == 1
    assert {r.json()["id"] for r in responses} == {versions[0]["id"]}
    assert (sample(metrics, "prompter_cache_miss_total"), sample(metrics, "prompter_cache_hit_total")) == (1, BURST - 1)


def test_the_burst_really_overlaps(db_url, redis_url):
    """The control: with the single-flight wait at 0 the same burst probes more than once, so the requests really
    were in flight together (one after another, the cache alone would have made it one probe)."""
    responses, versions, _, probes = run_burst(
        Settings(db_url=db_url, db_auto_migrate=True, redis_url=redis_url, probe_lock_wait_s=0)
    )
    assert sorted(r.status_code for r in responses) == [200] * (BURST - 1) + [201]
    assert len(versions) == 1
    assert probes > 1


def test_without_redis_every_request_probes_and_the_unique_pvk_keeps_one_version(db_url):
    responses, versions, _, probes = run_burst(Settings(db_url=db_url, db_auto_migrate=True))
    assert sorted(r.status_code for r in responses) == [200] * (BURST - 1) + [201]
    assert len(versions) == 1
    assert probes == BURST


# -- ProbeCache directly against the real Redis -------------------------------------------------------------------------


def probe_cache(redis_url: str, **options: float) -> ProbeCache:
    telemetry = Telemetry.disabled()
    health = RedisHealth(telemetry, configured=True)
    health.mark(True)
    options = {"ttl_s": 60, "lock_ttl_s": 5, "lock_wait_s": 5, **options}
    return ProbeCache(create_client(redis_url, timeout_s=0.25), health, telemetry, **options)


def fp(n: int) -> dict[str, str | None]:
    return {"system_fingerprint": f"fp_{n}", "model": "m"}


class SlowProbe:
    def __init__(self, delay_s: float, fail_first: int = 0) -> None:
        self.delay_s = delay_s
        self.fail_first = fail_first
        self.calls = 0

    async def __call__(self) -> dict[str, str | None]:
        self.calls += 1
        call = self.calls
        await asyncio.sleep(self.delay_s)
        if call <= self.fail_first:
            raise ProviderError("provider down (test)")
        return fp(call)


async def test_when_the_lock_holder_fails_a_waiter_takes_over(redis_url):
    cache = probe_cache(redis_url)
    probe = SlowProbe(0.1, fail_first=1)
    results = await asyncio.gather(
        *(cache.get_or_probe("openai", "m", probe) for _ in range(10)), return_exceptions=True
    )
    await cache.client.aclose()
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], ProviderError)
    assert probe.calls == 2
    assert [r for r in results if not isinstance(r, Exception)] == [fp(2)] * 9


async def test_when_the_wait_runs_out_each_waiter_probes_itself(redis_url):
    cache = probe_cache(redis_url, lock_wait_s=0.05)
    probe = SlowProbe(0.3)
    results = await asyncio.gather(*(cache.get_or_probe("openai", "m", probe) for _ in range(5)))
    stored = await cache.client.get(ProbeCache.key("openai", "m"))
    await cache.client.aclose()
    assert probe.calls == 5
    assert sorted(r["system_fingerprint"] for r in results) == [f"fp_{i}" for i in range(1, 6)]
    assert stored is not None


async def test_a_probe_slower_than_the_lock_ttl_still_answers(redis_url):
    cache = probe_cache(redis_url, lock_ttl_s=0.05, lock_wait_s=1)
    probe = SlowProbe(0.2)
    first, second = await asyncio.gather(
        cache.get_or_probe("openai", "m", probe), cache.get_or_probe("openai", "m", probe)
    )
    leftover = await cache.client.keys("prompter:probe-lock:*")
    await cache.client.aclose()
    # The lock expired while the first probe ran, so the waiter took it and probed too: two probes, no error.
    assert probe.calls == 2 and sorted([first["system_fingerprint"], second["system_fingerprint"]]) == ["fp_1", "fp_2"]
    assert leftover == []
