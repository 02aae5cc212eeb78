"""The probe cache through the HTTP API against a real redis-server: hits, misses, TTL, refresh, null identities, failed
probes, no Redis at all, and the Redis spans."""

from __future__ import annotations

import json
import time

import pytest
import redis
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.cache import ProbeCache
from service.providers.fake import stub_identity
from tests.integration.redis.cache_support import TEMPLATE, counting_registry, sample

GPT4O = {"provider": "openai", "model_id": "gpt-4o"}


def ensure(client, template_id: int, body: dict):
    return client.post(f"/api/prompt-templates/{template_id}/ensure-version", json=body)


def counters(client) -> tuple[float, float]:
    text = client.get("/metrics").text
    return sample(text, "prompter_cache_hit_total"), sample(text, "prompter_cache_miss_total")


IDENTITY = {"system_fingerprint": stub_identity("openai", "gpt-4o"), "model": "gpt-4o"}


@pytest.fixture
def redis_client(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_miss_then_hit_across_templates_and_runs(make_client, redis_url, redis_client):
    registry, fakes = counting_registry()
    api = make_client(redis_url=redis_url, app_kwargs={"providers": registry})
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]

    first = ensure(api, tid, GPT4O)
    assert first.status_code == 201, first.text
    assert (fakes["openai"].probes, counters(api)) == (1, (0, 1))

    again = ensure(api, tid, GPT4O)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert (fakes["openai"].probes, counters(api)) == (1, (1, 1))

    # The entry belongs to (provider, model_id): another template reuses it without probing.
    other = api.post("/api/prompt-templates", json={**TEMPLATE, "name": "other"}).json()["id"]
    assert ensure(api, other, GPT4O).status_code == 201
    assert (fakes["openai"].probes, counters(api)) == (1, (2, 1))
    # A run needs no cache at all: its own completion reports the identity (one provider call, no lookup).
    run = api.post(f"/api/prompt-templates/{tid}/run", json={**GPT4O, "variables": {"name": "Ada"}})
    assert run.status_code == 201, run.text
    assert run.json()["system_fingerprint"] == stub_identity("openai", "gpt-4o")
    assert run.json()["version_id"] == first.json()["id"]
    assert (fakes["openai"].calls, counters(api)) == (2, (2, 1))

    # Another model, another key.
    assert ensure(api, tid, {"provider": "openai", "model_id": "gpt-4o-mini"}).status_code == 201
    assert (fakes["openai"].probes, counters(api)) == (2, (2, 2))

    key = ProbeCache.key("openai", "gpt-4o")
    assert json.loads(redis_client.get(key)) == {"identity": IDENTITY}
    assert 0 < redis_client.pttl(key) <= 300_000
    text = api.get("/metrics").text
    assert sample(text, "prompter_redis_up") == 1
    assert sample(text, "prompter_probe_attempt_total") == 2


def test_entry_expires_after_the_ttl(make_client, redis_url, redis_client):
    registry, fakes = counting_registry()
    api = make_client(redis_url=redis_url, probe_ttl_s=0.3, app_kwargs={"providers": registry})
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    assert ensure(api, tid, GPT4O).status_code == 201
    assert 0 < redis_client.pttl(ProbeCache.key("openai", "gpt-4o")) <= 300
    time.sleep(0.4)
    assert ensure(api, tid, GPT4O).status_code == 200
    assert fakes["openai"].probes == 2
    assert counters(api) == (0, 2)


def test_refresh_probes_now_and_overwrites_the_entry(make_client, redis_url, redis_client):
    registry, fakes = counting_registry()
    api = make_client(redis_url=redis_url, app_kwargs={"providers": registry})
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    original = ensure(api, tid, GPT4O).json()

    fakes["openai"].set_identity("fp_rebuilt")  # the provider silently swaps the model build
    cached = ensure(api, tid, GPT4O)
    assert cached.status_code == 200 and cached.json()["id"] == original["id"]  # the cache hides it until the TTL...
    assert fakes["openai"].probes == 1

    refreshed = ensure(api, tid, {**GPT4O, "refresh": True})  # ...unless the caller asks for a fresh probe
    assert refreshed.status_code == 201, refreshed.text
    assert refreshed.json()["captured"] == {"system_fingerprint": "fp_rebuilt", "model": "gpt-4o"}
    assert refreshed.json()["drift"] is True
    assert fakes["openai"].probes == 2
    rebuilt = {"system_fingerprint": "fp_rebuilt", "model": "gpt-4o"}
    assert json.loads(redis_client.get(ProbeCache.key("openai", "gpt-4o"))) == {"identity": rebuilt}

    after = ensure(api, tid, GPT4O)  # the overwritten entry now serves the new identity
    assert after.status_code == 200 and after.json()["id"] == refreshed.json()["id"]
    assert fakes["openai"].probes == 2
    # A refresh is neither a hit nor a miss: it never looked.
    assert counters(api) == (2, 1)


def test_a_null_identity_is_cached_too(make_client, redis_url, redis_client):
    registry, fakes = counting_registry(null_identity=True)
    api = make_client(redis_url=redis_url, app_kwargs={"providers": registry})
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    first = ensure(api, tid, GPT4O)
    assert first.status_code == 201 and first.json()["captured"] == {"system_fingerprint": None, "model": None}
    second = ensure(api, tid, GPT4O)
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert fakes["openai"].probes == 1
    assert counters(api) == (1, 1)
    nulls = {"system_fingerprint": None, "model": None}
    assert json.loads(redis_client.get(ProbeCache.key("openai", "gpt-4o"))) == {"identity": nulls}


def test_a_failed_probe_is_not_cached_and_leaves_no_lock(make_client, redis_url, redis_client):
    registry, fakes = counting_registry()
    api = make_client(redis_url=redis_url, app_kwargs={"providers": registry})
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    fakes["openai"].fail_next = 1
    failed = ensure(api, tid, GPT4O)
    assert failed.status_code == 502 and failed.json()["error"] == "provider_error"
    assert redis_client.keys("prompter:*") == []  # neither an entry nor a leftover single-flight lock

    assert ensure(api, tid, GPT4O).status_code == 201
    assert fakes["openai"].probes == 2
    assert counters(api) == (0, 2)


def test_unreadable_entry_is_treated_as_a_miss_and_overwritten(make_client, redis_url, redis_client):
    registry, fakes = counting_registry()
    api = make_client(redis_url=redis_url, app_kwargs={"providers": registry})
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    key = ProbeCache.key("openai", "gpt-4o")
    redis_client.set(key, b"\xff not json")
    assert ensure(api, tid, GPT4O).status_code == 201
    assert fakes["openai"].probes == 1
    assert json.loads(redis_client.get(key)) == {"identity": IDENTITY}


def test_a_v1_entry_holding_a_bare_string_is_not_read(make_client, redis_url, redis_client):
    """Entries written before identities became dicts lived under the v1 prefix; v2 never reads them."""
    registry, fakes = counting_registry()
    api = make_client(redis_url=redis_url, app_kwargs={"providers": registry})
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    redis_client.set("prompter:probe:v1:openai:gpt-4o", json.dumps({"identity": "fp_old"}))
    redis_client.set(ProbeCache.key("openai", "gpt-4o"), json.dumps({"identity": "fp_old"}))  # wrong shape for v2
    assert ensure(api, tid, GPT4O).json()["captured"] == IDENTITY
    assert fakes["openai"].probes == 1


def test_without_redis_everything_works_and_the_gauge_says_0(make_client):
    registry, fakes = counting_registry()
    api = make_client(app_kwargs={"providers": registry})
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    assert ensure(api, tid, GPT4O).status_code == 201
    assert ensure(api, tid, GPT4O).status_code == 200
    assert ensure(api, tid, {**GPT4O, "refresh": True}).status_code == 200
    run = api.post(f"/api/prompt-templates/{tid}/run", json={**GPT4O, "variables": {"name": "Ada"}})
    assert run.status_code == 201, run.text
    assert fakes["openai"].probes == 3  # every ensure-version probes: there is no cache
    assert fakes["openai"].completions == 1  # and the run called the provider once
    text = api.get("/metrics").text
    assert sample(text, "prompter_redis_up") == 0
    assert (sample(text, "prompter_cache_hit_total"), sample(text, "prompter_cache_miss_total")) == (0, 0)
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["redis"] == "disabled"


def test_redis_calls_are_spans_of_the_request_and_health_pings_are_not(make_client, redis_url):
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    api = make_client(
        redis_url=redis_url, redis_health_interval_s=0.05, app_kwargs={"tracer_provider": tracer_provider}
    )
    tid = api.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    exporter.clear()
    assert ensure(api, tid, GPT4O).status_code == 201
    time.sleep(0.3)  # several background health checks happen meanwhile

    spans = exporter.get_finished_spans()
    redis_spans = [
        s for s in spans if s.attributes.get("db.system") == "redis" or s.attributes.get("db.system.name") == "redis"
    ]
    names = [s.name for s in redis_spans]
    assert "GET" in names and "SET" in names, names
    assert "PING" not in names
    ensure_span = next(s for s in spans if s.name == "prompter.ensure_version")
    assert all(s.context.trace_id == ensure_span.context.trace_id for s in redis_spans)
