"""The app exports over real OTLP/HTTP (BatchSpanProcessor + OTLPSpanExporter, PeriodicExportingMetricReader) to a
receiver this test runs on 127.0.0.1, which decodes the protobuf with opentelemetry-proto."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from service.app import create_app
from service.settings import Settings
from telemetry import contract as c
from tests.support.live_server import LiveServer
from tests.support.otlp_receiver import OTLPReceiver, ReceivedSpan
from tests.telemetry.scrape import parse

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}
RUN_ROUTE = "/api/prompt-templates/{template_id}/run"


def run_once(settings: Settings) -> dict[str, Any]:
    """Start the app under uvicorn, create + run a template, scrape /metrics, stop (the lifespan flushes exports)."""
    with LiveServer(create_app(settings)) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
        run = http.post(
            "/api/prompt-templates/1/run",
            json={"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada"}},
        )
        assert run.status_code == 201, run.text
        metrics = http.get("/metrics")
    return {"result": run.json(), "metrics": metrics}


def by_name(spans: list[ReceivedSpan], name: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.name == name]


def test_a_run_reaches_the_otlp_receiver_as_one_trace(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,team=llm-platform")
    with OTLPReceiver() as receiver:
        settings = Settings(
            db_url=sqlite_url,
            db_auto_migrate=True,
            otel_exporter_otlp_endpoint=receiver.url,
            metrics_service="prompter-otlp",
            metrics_env="ci",
        )
        out = run_once(settings)
        spans = receiver.spans()
    assert not receiver.bad_requests
    result = out["result"]
    trace = [s for s in spans if s.trace_id == result["trace_id"]]

    server = by_name(trace, f"POST {RUN_ROUTE}")
    assert len(server) == 1 and server[0].kind == "SERVER" and server[0].parent_span_id == ""
    assert server[0].attributes["http.route"] == RUN_ROUTE
    assert server[0].attributes["http.response.status_code"] == 201
    ensure = by_name(trace, "prompter.ensure_version")
    assert len(ensure) == 1 and ensure[0].parent_span_id == server[0].span_id
    assert by_name(trace, "prompter.probe") == []  # a run calls the provider once: no probe

    llm = by_name(trace, "chat gpt-4o")
    assert len(llm) == 1 and llm[0].parent_span_id == server[0].span_id
    for call in llm:
        assert call.kind == "CLIENT"
        assert call.attributes["gen_ai.operation.name"] == "chat"
        assert call.attributes["gen_ai.provider.name"] == "openai"
        assert call.attributes["gen_ai.request.model"] == "gpt-4o"
        assert call.attributes["gen_ai.response.model"] == "gpt-4o"
        assert call.attributes["openai.response.system_fingerprint"] == result["system_fingerprint"]
        assert call.attributes["gen_ai.usage.input_tokens"] > 0 and call.attributes["gen_ai.usage.output_tokens"] > 0

    db = [s for s in trace if s.scope == "opentelemetry.instrumentation.sqlalchemy"]
    assert any("INSERT INTO prompt_results" in s.attributes["db.statement"] for s in db)
    assert any("INSERT INTO prompt_versions" in s.attributes["db.statement"] for s in db)
    assert all(s.attributes["db.system"] == "sqlite" for s in db)
    span_ids = {s.span_id for s in trace}
    assert all(s.parent_span_id in span_ids for s in trace if s is not server[0]), (
        "every span hangs off the server span"
    )

    resource = server[0].resource
    assert resource["service.name"] == "prompter-otlp"
    assert resource["deployment.environment.name"] == "staging"  # OTEL_RESOURCE_ATTRIBUTES wins over our default
    assert resource["team"] == "llm-platform"
    # The create request was its own trace.
    assert len(by_name(spans, "POST /api/prompt-templates")) == 1
    assert out["metrics"].status_code == 200


def test_metrics_push_keeps_explicit_buckets_whatever_the_environment_says(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PROMPTER_METRICS_EXPORT=both: OTLP push and /metrics together, with the exporter told to prefer exponential
    histograms - the contract's views pin explicit buckets, so neither side changes."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "base2_exponential_bucket_histogram")
    with OTLPReceiver() as receiver:
        settings = Settings(
            db_url=sqlite_url,
            db_auto_migrate=True,
            otel_exporter_otlp_endpoint=receiver.url,
            metrics_export="both",
            metrics_service="prompter-otlp",
            metrics_env="ci",
        )
        out = run_once(settings)
        names = receiver.metric_names()
        histograms = {
            name: receiver.metrics(name)
            for name in ("starlette_requests_processing_seconds", "prompter_ensure_version_seconds")
        }
    assert not receiver.bad_requests
    assert {"starlette_requests", "prompter_prompt_results_insert", "gen_ai.client.operation.duration"} <= names
    for name, metrics in histograms.items():
        assert metrics, name
        for metric in metrics:
            assert metric.WhichOneof("data") == "histogram", name
            bounds = {tuple(p.explicit_bounds) for p in metric.histogram.data_points}
            assert bounds == {c.HTTP_SECONDS_BUCKETS}, name
    scrape = parse(out["metrics"].text)
    assert scrape.value("prompter_prompt_results_insert_total", service="prompter-otlp", env="ci") == 1


def test_metrics_push_only_leaves_metrics_endpoint_explaining(sqlite_url: str) -> None:
    with OTLPReceiver() as receiver:
        settings = Settings(
            db_url=sqlite_url, db_auto_migrate=True, otel_exporter_otlp_endpoint=receiver.url, metrics_export="otlp"
        )
        out = run_once(settings)
        names = receiver.metric_names()
    assert "prompter_prompt_results_insert" in names
    assert out["metrics"].status_code == 200
    assert "PROMPTER_METRICS_EXPORT=otlp" in out["metrics"].text
