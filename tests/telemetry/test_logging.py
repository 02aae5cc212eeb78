"""Structured logs: one JSON object per line, carrying the trace_id / span_id of the request that logged it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_log_line_inside_a_request_carries_its_trace(
    make_client: Callable[..., TestClient],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = make_client(app_kwargs={"tracer_provider": tracer_provider})
    telemetry = client.app.state.runtime.telemetry

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("meter is broken")

    # The first recording failure logs a warning, from inside the duplicate-create request.
    monkeypatch.setattr(telemetry._instruments["db_unique_violation"], "add", broken)
    capsys.readouterr()
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    span_exporter.clear()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert client.post("/api/prompt-templates", json=TEMPLATE, headers={"traceparent": traceparent}).status_code == 409

    lines = json_lines(capsys.readouterr().err)
    warning = [line for line in lines if line["msg"].startswith("telemetry recording failed")]
    assert len(warning) == 1, lines
    server = [s for s in span_exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert len(server) == 1
    assert warning[0]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" == format(server[0].context.trace_id, "032x")
    assert warning[0]["span_id"] == format(server[0].context.span_id, "016x")
    assert warning[0]["level"] == "warning" and warning[0]["logger"] == "prompter.telemetry"
    assert "RuntimeError: meter is broken" in warning[0]["exc"]
    assert set(warning[0]) >= {"ts", "level", "logger", "msg", "trace_id", "span_id"}


def test_a_log_line_outside_any_request_has_no_trace_ids(
    make_client: Callable[..., TestClient], tracer_provider: TracerProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    make_client(app_kwargs={"tracer_provider": tracer_provider})  # startup logs (no REDIS_URL, ...)
    lines = json_lines(capsys.readouterr().err)
    startup = [line for line in lines if line["logger"].startswith("prompter")]
    assert startup, lines
    assert all("trace_id" not in line and "span_id" not in line for line in startup)
