"""PROMPTER_TRACE_STATEMENTS=false drops the per-statement SQL spans (the costliest ones) and keeps the rest."""

from __future__ import annotations

from tests.telemetry.test_spans import RUN, TEMPLATE, db_spans, one


def test_statement_spans_can_be_turned_off(traced, span_exporter):
    client = traced(trace_statements=False)
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    span_exporter.clear()
    assert client.post(f"/api/prompt-templates/{tid}/run", json=RUN).status_code == 201
    spans = span_exporter.get_finished_spans()
    assert db_spans(spans) == []
    one(spans, "POST /api/prompt-templates/{template_id}/run")
    assert any(s.name == "prompter.ensure_version" for s in spans)
    assert any(s.name == "chat gpt-4o" for s in spans)


def test_statement_spans_are_on_by_default(traced, span_exporter):
    client = traced()
    client.post("/api/prompt-templates", json=TEMPLATE)
    assert db_spans(span_exporter.get_finished_spans())
