"""Redis down, hung, restarted or absent at startup: requests keep succeeding, prompter_redis_up and /readyz follow
within the health-check interval, and caching resumes on its own. Each test runs its own throwaway redis-server on a
free port, so stopping it never touches the machine's shared Redis."""

from __future__ import annotations

import signal

from tests.conftest import need
from tests.integration.redis.cache_support import TEMPLATE, counting_registry, sample, wait_until
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer

INTERVAL_S = 0.3
TIMEOUT_S = 0.1
# "Within the configured interval": the next check starts at most INTERVAL_S after the change and gives up after its
# own timeout (twice TIMEOUT_S at worst); the rest is slack for a loaded CI machine.
NOTICE_WITHIN_S = INTERVAL_S + 2 * TIMEOUT_S + 1.0
GPT4O = {"provider": "openai", "model_id": "gpt-4o"}


def cached_app(make_client, url: str):
    registry, fakes = counting_registry()
    api = make_client(
        redis_url=url, redis_health_interval_s=INTERVAL_S, redis_timeout_s=TIMEOUT_S, app_kwargs={"providers": registry}
    )
    return api, fakes["openai"]


def gauge(api) -> float:
    return sample(api.get("/metrics").text, "prompter_redis_up")


def counters(api) -> tuple[float, float]:
    text = api.get("/metrics").text
    return sample(text, "prompter_cache_hit_total"), sample(text, "prompter_cache_miss_total")


def ensure(api, tid: int, body: dict = GPT4O):
    return api.post(f"/api/prompt-templates/{tid}/ensure-version", json=body)


def mixed_requests(api, tid: int, count: int) -> list[int]:
    """`count` requests of every kind that touches the probe path or not: ensure (cached model, new models), run,
    create template, list versions. Returns their status codes."""
    statuses = []
    for i in range(count):
        kind = i % 5
        if kind == 0:
            response = ensure(api, tid)
        elif kind == 1:
            response = ensure(api, tid, {"provider": "google", "model_id": f"gemini-{i}"})
        elif kind == 2:
            response = api.post(f"/api/prompt-templates/{tid}/run", json={**GPT4O, "variables": {"name": f"n{i}"}})
        elif kind == 3:
            response = api.post("/api/prompt-templates", json={**TEMPLATE, "name": f"t{i}"})
        else:
            response = api.get(f"/api/prompt-templates/{tid}/versions")
        statuses.append(response.status_code)
    return statuses


def test_redis_stopped_mid_test_then_restarted(make_client, own_redis):
    api, openai = cached_app(make_client, own_redis.url)
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    assert ensure(api, tid).status_code == 201
    assert ensure(api, tid).status_code == 200
    assert (openai.probes, counters(api), gauge(api)) == (1, (1, 1), 1)
    assert api.get("/readyz").json()["redis"] == "up"

    own_redis.stop()
    statuses = mixed_requests(api, tid, 50)
    assert all(200 <= status < 300 for status in statuses), statuses
    # The 10 gpt-4o ensure-versions all probed: the cache was bypassed, not half-used. The 10 runs never probe.
    assert (openai.probes, openai.completions) == (1 + 10, 10)
    assert gauge(api) == 0
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert (ready.json()["status"], ready.json()["redis"]) == ("ready", "down")
    assert counters(api) == (1, 1)  # a bypass is neither a hit nor a miss

    own_redis.start()  # same port, empty: a restarted cache
    wait_until(lambda: gauge(api) == 1, NOTICE_WITHIN_S)
    assert api.get("/readyz").json()["redis"] == "up"
    probes = openai.probes
    assert ensure(api, tid).status_code == 200  # miss: probes and refills the cache
    assert ensure(api, tid).status_code == 200  # hit
    assert openai.probes == probes + 1
    assert counters(api) == (2, 2)


def test_gauge_and_readyz_follow_redis_without_any_traffic(make_client, own_redis):
    api, _ = cached_app(make_client, own_redis.url)
    assert gauge(api) == 1  # set by the startup PING

    own_redis.stop()
    wait_until(lambda: gauge(api) == 0, NOTICE_WITHIN_S)
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["redis"] == "down"

    own_redis.start()
    wait_until(lambda: gauge(api) == 1, NOTICE_WITHIN_S)
    assert api.get("/readyz").json()["redis"] == "up"


def test_hung_redis_costs_one_timeout_then_is_bypassed(make_client, own_redis):
    api, openai = cached_app(make_client, own_redis.url)
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    assert ensure(api, tid).status_code == 201

    own_redis.process.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing: a "slow" Redis
    try:
        statuses = mixed_requests(api, tid, 20)
        assert all(200 <= status < 300 for status in statuses), statuses
        assert gauge(api) == 0
        assert api.get("/readyz").status_code == 200
    finally:
        own_redis.process.send_signal(signal.SIGCONT)

    wait_until(lambda: gauge(api) == 1, NOTICE_WITHIN_S)
    hits, _ = counters(api)
    probes = openai.probes
    assert ensure(api, tid).status_code == 200  # the entry survived the pause: a hit
    assert openai.probes == probes
    assert counters(api)[0] == hits + 1


def test_app_started_while_redis_is_down_picks_it_up_when_it_arrives(make_client):
    port = free_port()
    api, openai = cached_app(make_client, f"redis://127.0.0.1:{port}/0")
    assert gauge(api) == 0
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["redis"] == "down"
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    assert ensure(api, tid).status_code == 201
    assert ensure(api, tid).status_code == 200
    assert openai.probes == 2

    try:
        server = RedisServer(port).start()
    except Exception as exc:  # noqa: BLE001
        need(f"redis-server could not start: {exc}")
    try:
        wait_until(lambda: gauge(api) == 1, NOTICE_WITHIN_S)
        assert ensure(api, tid).status_code == 200
        assert ensure(api, tid).status_code == 200
        assert openai.probes == 3
        assert counters(api) == (1, 1)
    finally:
        server.stop()
