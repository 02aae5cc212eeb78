"""A broken meter or tracer never fails a request: the failure is swallowed and counted in `recording_errors`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider

from telemetry import Telemetry

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}
RUN = {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada"}}


def telemetry_of(client: TestClient) -> Telemetry:
    return client.app.state.runtime.telemetry


def explode(*_: Any, **__: Any) -> None:
    raise RuntimeError("meter is broken")


def test_instruments_that_raise_do_not_fail_requests(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()
    telemetry = telemetry_of(client)
    assert telemetry.recording_errors == 0
    broken = {
        "http_requests": "add",
        "http_duration": "record",
        "db_unique_violation": "add",
        "results_insert": "add",
        "ensure_version": "record",
        "probe_attempt": "add",
        "genai_duration": "record",
    }
    for key, method in broken.items():
        monkeypatch.setattr(telemetry._instruments[key], method, explode)

    created = client.post("/api/prompt-templates", json=TEMPLATE)
    assert created.status_code == 201, created.text
    duplicate = client.post("/api/prompt-templates", json=TEMPLATE)
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "duplicate_template"
    run = client.post("/api/prompt-templates/1/run", json=RUN)
    assert run.status_code == 201, run.text
    assert run.json()["output"]
    assert client.get(f"/api/prompt-results/{run.json()['id']}").status_code == 200

    # 4 requests x (count + duration), the duplicate, the run's ensure-version step and its one LLM call (no probe),
    # the result insert.
    assert telemetry.recording_errors == 4 * 2 + 1 + 1 + 1 + 1
    # The instruments that still work keep counting, and the scrape still renders.
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "prompter_openai_fingerprint_present_total" in metrics.text
    assert 'prompter_openai_fingerprint_present_total{env="dev",service="prompter-api"} 1.0' in metrics.text


def test_a_tracer_that_raises_does_not_fail_requests(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(app_kwargs={"tracer_provider": TracerProvider()})
    telemetry = telemetry_of(client)
    monkeypatch.setattr(telemetry.tracer, "start_span", explode)
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    run = client.post("/api/prompt-templates/1/run", json=RUN)
    assert run.status_code == 201, run.text
    assert run.json()["trace_id"] is None  # no span could be started, so there is no trace to point at
    # 2 server spans + the run's ensure_version + its one LLM span could not start.
    assert telemetry.recording_errors == 4
    assert "starlette_requests_total" in client.get("/metrics").text
