"""The lean statement tracer (telemetry/statements.py) makes the stock SQLAlchemy instrumentor's spans - same names,
kinds, attributes, parents, error status - and nothing at all under a span that does not record; children of a
sampled-out span are non-recording spans in its context, made without the SDK."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from telemetry.child_spans import ChildSpansOnlyTracerProvider
from telemetry.port import Telemetry
from telemetry.statements import StatementTracer

STATEMENTS = ["CREATE TABLE t (x INTEGER)", "INSERT INTO t VALUES (1)", "/* c */ SELECT x FROM t", "SELECT x FROM t"]


def statement_spans(tracer_class: type, url: str) -> list[dict[str, Any]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = create_engine(url)
    usage = NoOpMeterProvider().get_meter("noop").create_up_down_counter("usage")
    tracer_class(provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine, usage)
    with provider.get_tracer("test").start_as_current_span("request"), engine.connect() as conn:
        for statement in STATEMENTS:
            conn.execute(text(statement))
        conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": 2}, {"x": 3}])  # executemany
        conn.exec_driver_sql("SELECT x FROM t WHERE x > 1")  # no parameters at all
        with pytest.raises(OperationalError):
            conn.execute(text("SELECT nope FROM nowhere"))
    engine.dispose()
    spans = [s for s in exporter.get_finished_spans() if s.name != "request"]
    parent = next(s for s in exporter.get_finished_spans() if s.name == "request")
    assert all(s.parent is not None and s.parent.span_id == parent.context.span_id for s in spans)
    return [
        {
            "name": s.name,
            "kind": s.kind,
            "attributes": dict(s.attributes),
            "status": s.status.status_code,
            "description": s.status.description,
        }
        for s in spans
    ]


def test_the_lean_tracer_makes_the_instrumentors_spans(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/lean.db"
    stock = statement_spans(EngineTracer, url)
    (tmp_path / "lean.db").unlink()
    lean = statement_spans(StatementTracer, url)
    assert lean == stock
    assert len(lean) == len(STATEMENTS) + 3 and lean[-1]["status"] == trace.StatusCode.ERROR
    assert "nowhere" in lean[-1]["description"]  # the driver's message


async def _async_statement_spans(tracer_class: type, url: str) -> list[dict[str, Any]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    usage = NoOpMeterProvider().get_meter("noop").create_up_down_counter("usage")
    tracer_class(provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine.sync_engine, usage)
    try:
        with provider.get_tracer("test").start_as_current_span("request"):
            async with engine.connect() as conn:
                for statement in STATEMENTS:
                    await conn.execute(text(statement))
                await conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": 2}, {"x": 3}])
                await conn.exec_driver_sql("SELECT x FROM t WHERE x > 1")
                with pytest.raises(DBAPIError):
                    await conn.execute(text("SELECT nope FROM nowhere"))
                await conn.rollback()
    finally:
        await engine.dispose()
    spans = [s for s in exporter.get_finished_spans() if s.name != "request"]
    return [
        {
            "name": s.name,
            "attributes": dict(s.attributes),
            "status": s.status.status_code,
            "description": s.status.description,
        }
        for s in spans
    ]


def test_the_lean_tracer_makes_the_instrumentors_spans_on_postgresql(pg_url: str) -> None:
    stock = asyncio.run(_async_statement_spans(EngineTracer, pg_url))
    lean = asyncio.run(_async_statement_spans(StatementTracer, pg_url))  # the first run's table was rolled back
    assert lean == stock
    assert len(lean) == len(STATEMENTS) + 3 and lean[-1]["status"] == trace.StatusCode.ERROR
    assert "nowhere" in lean[-1]["description"]


def test_the_lean_tracer_leaves_the_engine_without_connection_events(tmp_path) -> None:
    """Connection event listeners on an engine make every connection dispatch SQLAlchemy events at each of its event
    points, traced or not; the lean tracer hooks the dialect's execute only."""
    engine = create_engine(f"sqlite:///{tmp_path}/events.db")
    usage = NoOpMeterProvider().get_meter("noop").create_up_down_counter("usage")
    StatementTracer(TracerProvider().get_tracer("sql"), engine, usage)
    assert engine._has_events is False
    assert engine.dialect._has_events is True
    engine.dispose()


def test_no_statement_span_outside_a_recording_span(tmp_path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = create_engine(f"sqlite:///{tmp_path}/off.db")
    usage = NoOpMeterProvider().get_meter("noop").create_up_down_counter("usage")
    StatementTracer(provider.get_tracer("sql"), engine, usage)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # no parent at all
        with provider.get_tracer("test").start_as_current_span("sampled out"):
            conn.execute(text("SELECT 1"))
    engine.dispose()
    assert exporter.get_finished_spans() == ()


class CountingTracer(trace.Tracer):
    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer, self.started = tracer, 0

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        self.started += 1
        return self.tracer.start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        self.started += 1
        return self.tracer.start_as_current_span(*args, **kwargs)


def test_children_of_a_sampled_out_span_skip_the_sdk_and_keep_its_trace() -> None:
    provider = TracerProvider(sampler=ALWAYS_OFF)
    counting = CountingTracer(provider.get_tracer("prompter"))
    telemetry = Telemetry(None, counting)
    library = ChildSpansOnlyTracerProvider(provider).get_tracer("httpx")
    root = telemetry.start_span("GET /x", kind=trace.SpanKind.SERVER)  # a root span: the sampler decides
    assert counting.started == 1 and not root.is_recording()
    with trace.use_span(root, end_on_exit=True):
        with telemetry.span("prompter.ensure_version", **{"prompter.template_id": 1}) as step:
            with telemetry.llm_call("openai", "gpt-4o") as call:
                call.set_response(model="gpt-4o", input_tokens=1, output_tokens=2)
            with library.start_as_current_span("POST") as outgoing:
                inner = trace.get_current_span()
        children = [step, call.span, outgoing, inner]
    assert counting.started == 1  # no SDK call for any child
    assert all(not s.is_recording() for s in children)
    trace_id = root.get_span_context().trace_id
    assert all(s.get_span_context().trace_id == trace_id for s in children)  # the trace id still propagates
    assert telemetry.recording_errors == 0
