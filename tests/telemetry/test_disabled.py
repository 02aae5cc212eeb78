"""PROMPTER_TELEMETRY=off or OTEL_SDK_DISABLED=true: the same app, no metrics, no spans, no exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.app import create_app
from service.settings import Settings
from tests.support.live_server import LiveServer
from tests.support.otlp_receiver import OTLPReceiver

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}
RUN = {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada"}}
OFF = [
    pytest.param({"telemetry": "off"}, id="PROMPTER_TELEMETRY=off"),
    pytest.param({"otel_sdk_disabled": True}, id="OTEL_SDK_DISABLED=true"),
]


@pytest.mark.parametrize(
    "environ", [{"PROMPTER_TELEMETRY": "off"}, {"OTEL_SDK_DISABLED": "true"}, {"OTEL_SDK_DISABLED": "TRUE"}]
)
def test_the_switches_are_read_from_the_environment(environ: dict[str, str]) -> None:
    assert Settings.from_env(environ).telemetry.enabled is False
    assert Settings.from_env({}).telemetry.enabled is True


@pytest.mark.parametrize("off", OFF)
def test_the_app_works_with_telemetry_off(
    make_client: Callable[..., TestClient],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    off: dict[str, Any],
) -> None:
    # Even a tracer provider handed in explicitly is not used.
    client = make_client(app_kwargs={"tracer_provider": tracer_provider}, **off)
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 409
    run = client.post(
        "/api/prompt-templates/1/run",
        json=RUN,
        headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    )
    assert run.status_code == 201, run.text
    assert run.json()["trace_id"] is None
    assert run.json()["system_fingerprint"].startswith("fp_stub_")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "telemetry is off" in metrics.text
    assert "prompter_" not in metrics.text and "starlette_" not in metrics.text
    assert span_exporter.get_finished_spans() == ()
    runtime = client.app.state.runtime
    assert runtime.telemetry.enabled is False
    assert runtime.telemetry_handle.registry is None and runtime.telemetry_handle.tracer_provider is None


def test_telemetry_off_exports_nothing_even_with_an_otlp_endpoint(sqlite_url: str) -> None:
    with OTLPReceiver() as receiver:
        settings = Settings(
            db_url=sqlite_url,
            db_auto_migrate=True,
            telemetry="off",
            otel_exporter_otlp_endpoint=receiver.url,
            metrics_export="both",
        )
        # Stopping the server runs the lifespan shutdown, which would flush any exporter.
        with LiveServer(create_app(settings)) as base, httpx.Client(base_url=base, timeout=10) as http:
            assert http.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
            assert http.post("/api/prompt-templates/1/run", json=RUN).status_code == 201
        assert receiver.trace_requests == [] and receiver.metric_requests == []
