"""Redis is killed (SIGKILL) and restarted while concurrent load runs: not one 5xx. The probe cache steps aside while
Redis is gone (requests probe the provider themselves), readiness stays 200 reporting Redis `down`, and the cache is
used again once Redis is back - all without restarting the app.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from tests.reliability.live import scrape
from tests.support.redis_server import RedisServer

TEMPLATE = {"org_id": "acme", "workspace_id": "cache", "name": "greet", "body": "Hello {{ who }}"}
MODELS = [f"model-{i}" for i in range(8)]  # several cache keys, so cold keys (probe + lock) keep occurring


async def _load(
    base_url: str, tid: int, stop: asyncio.Event, statuses: Counter, errors: list[str], concurrency: int = 16
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def worker(n: int) -> None:
            i = 0
            while not stop.is_set():
                model = MODELS[(n + i) % len(MODELS)]
                if i % 2:
                    response = await client.post(
                        f"/api/prompt-templates/{tid}/ensure-version", json={"provider": "openai", "model_id": model}
                    )
                else:
                    response = await client.post(
                        f"/api/prompt-templates/{tid}/run",
                        json={"provider": "google", "model_id": model, "variables": {"who": f"w{n}-{i}"}},
                    )
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    errors.append(response.text)
                i += 1

        await asyncio.gather(*(worker(n) for n in range(concurrency)))


def _kill(server: RedisServer) -> None:
    assert server.process is not None
    server.process.kill()  # SIGKILL: no goodbye to the clients, sockets just die
    server.process.wait(10)
    server.process = None


@pytest.mark.slow
def test_redis_killed_and_restarted_under_load_gives_zero_5xx(pg_url, own_redis, live_server):
    server = live_server(
        db_url=pg_url, redis_url=own_redis.url, redis_health_interval_s=0.2, db_pool_size=10, db_pool_timeout_s=10.0
    )
    base = server.url
    assert httpx.get(f"{base}/readyz").json()["redis"] == "up"
    tid = httpx.post(f"{base}/api/prompt-templates", json=TEMPLATE).json()["id"]
    statuses: Counter = Counter()
    errors: list[str] = []
    phases: dict[str, object] = {}

    async def scenario() -> None:
        stop = asyncio.Event()
        load = asyncio.create_task(_load(base, tid, stop, statuses, errors))
        await asyncio.sleep(1.0)
        phases["before_kill"] = sum(statuses.values())
        _kill(own_redis)
        await asyncio.sleep(1.5)
        async with httpx.AsyncClient(base_url=base) as client:
            ready = await client.get("/readyz")
            phases["ready_during"] = (ready.status_code, ready.json()["redis"])
            phases["redis_up_during"] = scrape(base, "prompter_redis_up")
        phases["during_outage"] = sum(statuses.values()) - phases["before_kill"]  # type: ignore[operator]
        await asyncio.to_thread(own_redis.start)  # same port
        await asyncio.sleep(1.5)
        stop.set()
        await load

    asyncio.run(scenario())

    assert not errors, errors[:3]
    assert set(statuses) <= {200, 201}, statuses
    # The load really ran through the outage (not stalled waiting on a dead Redis).
    assert phases["during_outage"] > 20, phases
    assert phases["ready_during"] == (200, "down"), phases
    assert phases["redis_up_during"] == 0

    deadline = time.monotonic() + 10
    while httpx.get(f"{base}/readyz").json()["redis"] != "up":
        assert time.monotonic() < deadline, "Redis never reported up again"
        time.sleep(0.1)
    assert scrape(base, "prompter_redis_up") == 1
    # The cache is in use again: a repeated lookup of a model probed after the restart is a hit.
    hits_before = scrape(base, "prompter_cache_hit_total")
    for _ in range(3):
        response = httpx.post(
            f"{base}/api/prompt-templates/{tid}/ensure-version",
            json={"provider": "openai", "model_id": "after-restart"},
        )
        assert response.status_code in (200, 201)
    assert scrape(base, "prompter_cache_hit_total") - hits_before >= 2
    print(f"redis outage under load: {dict(statuses)}, phases {phases}")
