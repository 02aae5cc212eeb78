"""Model drift end to end: the identity a provider reports changes between two probes, so the second ensure-version
creates a new version with `drift: true` and `prompter_model_drift_total` counts it. Shown without keys (the fake
LLM's identity switch) and with the real OpenAI adapter against the wire server (a rotated system_fingerprint).

With the Redis probe cache the identity is cached per (provider, model_id): the second ensure-version sends
`"refresh": true` to probe again instead of reading the cached identity."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.providers import ProviderRegistry
from tests.integration.providers.observed import TEMPLATE
from tests.integration.providers.wire_server import SECRET, Reply, openai_chat

ENSURE = {"provider": "openai", "model_id": "gpt-4o"}


def drift_total(client: Any, provider: str = "openai", model_id: str = "gpt-4o") -> float:
    text = client.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "prompter_model_drift_total"
        and sample.labels.get("provider") == provider
        and sample.labels.get("model_id") == model_id
    )


@pytest.fixture(params=["no-redis", "redis"])
def cache_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"redis_url": request.getfixturevalue("redis_url")} if request.param == "redis" else {}


def test_fake_identity_switch_shows_drift(make_client, cache_settings):
    registry = ProviderRegistry.fakes()
    client = make_client(app_kwargs={"providers": registry}, **cache_settings)
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]

    first = client.post(f"/api/prompt-templates/{tid}/ensure-version", json=ENSURE)
    assert first.status_code == 201 and first.json()["drift"] is False
    assert drift_total(client) == 0

    registry.get("openai").set_identity("fp_rotated_build")
    second = client.post(f"/api/prompt-templates/{tid}/ensure-version", json={**ENSURE, "refresh": True})

    assert second.status_code == 201, second.text
    assert second.json()["drift"] is True and second.json()["created"] is True
    assert second.json()["captured"] == {"system_fingerprint": "fp_rotated_build", "model": "gpt-4o"}
    assert second.json()["id"] != first.json()["id"]
    assert drift_total(client) == 1
    versions = client.get(f"/api/prompt-templates/{tid}/versions").json()["items"]
    assert [v["drift"] for v in versions] == [True, False]  # newest first


def test_fake_identity_comes_from_prompter_fake_identity(make_client):
    client = make_client(fake_identity="openai=fp_from_env,google=gemini-env-002")
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    openai = client.post(f"/api/prompt-templates/{tid}/ensure-version", json=ENSURE).json()
    google = client.post(
        f"/api/prompt-templates/{tid}/ensure-version", json={"provider": "google", "model_id": "gemini-2.0-flash"}
    ).json()
    assert openai["captured"] == {"system_fingerprint": "fp_from_env", "model": "gpt-4o"}
    assert google["captured"] == {"modelVersion": "gemini-env-002"}


def test_a_rotated_system_fingerprint_from_a_real_server_is_drift(make_client, wire, cache_settings):
    wire.script(
        Reply(200, openai_chat("p", fingerprint="fp_build_a")), Reply(200, openai_chat("p", fingerprint="fp_build_b"))
    )
    client = make_client(openai_api_key=SECRET, openai_base_url=f"{wire.url}/v1", **cache_settings)
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]

    first = client.post(f"/api/prompt-templates/{tid}/ensure-version", json=ENSURE)
    second = client.post(f"/api/prompt-templates/{tid}/ensure-version", json={**ENSURE, "refresh": True})

    assert (first.status_code, second.status_code) == (201, 201), second.text
    dated = "gpt-4o-2024-08-06"
    assert first.json()["captured"] == {"system_fingerprint": "fp_build_a", "model": dated}
    assert second.json()["captured"] == {"system_fingerprint": "fp_build_b", "model": dated}
    assert (first.json()["drift"], second.json()["drift"]) == (False, True)
    assert len(wire.requests) == 2  # both ensure-versions really probed the server
    assert drift_total(client) == 1


def test_a_run_pins_to_what_its_own_completion_reported_and_flags_drift(make_client, wire):
    """No fingerprint at all (a compatible server): the dated response model alone tells the builds apart, and the run
    itself - no probe - creates the new version and counts the drift."""
    wire.script(
        Reply(200, openai_chat("a", fingerprint=None, model="gpt-4o-2024-08-06")),
        Reply(200, openai_chat("b", fingerprint=None, model="gpt-4o-2024-08-06")),
        Reply(200, openai_chat("c", fingerprint=None, model="gpt-4o-2024-11-20")),
    )
    client = make_client(openai_api_key=SECRET, openai_base_url=f"{wire.url}/v1")
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    run = {**ENSURE, "variables": {"name": "Ada", "team": "Prompter"}}

    results = [client.post(f"/api/prompt-templates/{tid}/run", json=run) for _ in range(3)]

    assert [r.status_code for r in results] == [201, 201, 201], results[-1].text
    assert len(wire.requests) == 3  # one provider call per run, no probe
    first, second, third = (r.json() for r in results)
    assert first["version_id"] == second["version_id"] != third["version_id"]
    versions = {v["id"]: v for v in client.get(f"/api/prompt-templates/{tid}/versions").json()["items"]}
    assert versions[first["version_id"]]["captured"] == {"system_fingerprint": None, "model": "gpt-4o-2024-08-06"}
    assert versions[third["version_id"]]["captured"] == {"system_fingerprint": None, "model": "gpt-4o-2024-11-20"}
    assert (versions[first["version_id"]]["drift"], versions[third["version_id"]]["drift"]) == (False, True)
    assert drift_total(client) == 1
