"""The span relay (telemetry/span_relay.py) exports through a real exporter process to a real OTLP receiver: the same
spans, byte for byte, as the stock BatchSpanProcessor exports in process; a dead exporter process is replaced, one
that cannot start falls back to exporting in process, a full queue drops and counts, and shutdown flushes."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from telemetry.span_relay import SpanRelay, exporter_command
from tests.support.otlp_receiver import OTLPReceiver

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}
RUN = {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada"}}
RESOURCE = Resource({"service.name": "relay-test", "deployment.environment.name": "ci", "team": "llm"})


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as r:
        yield r


def relay_to(receiver: OTLPReceiver, command: list[str] | None = None, **kwargs: Any) -> SpanRelay:
    endpoint = f"{receiver.url}/v1/traces"
    return SpanRelay(
        command or exporter_command(endpoint, 5.0),
        lambda: OTLPSpanExporter(endpoint=endpoint, timeout=5.0),
        timeout_s=5.0,
        **kwargs,
    )


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def received(receiver: OTLPReceiver) -> list[tuple[bytes, bytes, bytes]]:
    """(resource, scope, span) as serialized protobuf, one per span, in span-id order."""
    out = []
    for request in receiver.trace_requests:
        for resource_spans in request.resource_spans:
            resource = resource_spans.resource.SerializeToString(deterministic=True)
            for scope_spans in resource_spans.scope_spans:
                scope = scope_spans.scope.SerializeToString(deterministic=True) + scope_spans.schema_url.encode()
                for span in scope_spans.spans:
                    out.append((span.span_id, resource, scope, span.SerializeToString(deterministic=True)))
    return [entry[1:] for entry in sorted(out)]


def make_spans(provider: TracerProvider) -> int:
    """A request-shaped trace with everything OTLP carries: kinds, a remote parent with trace state, attributes of every
    type, events, links, an error status, attributes and events over the limits (dropped counts), two scopes."""
    app = provider.get_tracer("prompter", "1.2.3", schema_url="https://opentelemetry.io/schemas/1.26.0")
    sql = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", "0.66b2")
    remote = SpanContext(
        0x5B8EFFF798038103D269B633813FC60C,
        0xEEE19B7EC3C1B174,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "abc"), ("other", "1")]),
    )
    parent = trace.set_span_in_context(trace.NonRecordingSpan(remote))
    server = app.start_span("POST /api/prompt-templates/{template_id}/run", parent, SpanKind.SERVER)
    with trace.use_span(server, end_on_exit=True):
        server.set_attributes(
            {"http.route": "/x", "http.response.status_code": 201, "ratio": 0.25, "ok": True, "tags": ("a", "b")}
        )
        with app.start_as_current_span("prompter.ensure_version", attributes={"prompter.template_id": 1}) as step:
            step.add_event("probe skipped", {"reason": "cached", "n": 3})
            for number in range(6):  # over max_span_attributes: dropped
                step.set_attribute(f"extra.{number}", number)
        with sql.start_as_current_span("SELECT db", kind=SpanKind.CLIENT, links=[Link(remote, {"why": "batch"})]):
            pass
        with app.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as llm:
            for number in range(5):  # over max_events: dropped
                llm.add_event(f"chunk {number}")
            llm.set_status(Status(StatusCode.ERROR, "provider_timeout"))
    return 4


def test_relayed_spans_are_what_the_stock_batch_processor_exports(receiver: OTLPReceiver) -> None:
    with OTLPReceiver() as inline_receiver:
        provider = TracerProvider(resource=RESOURCE, span_limits=SpanLimits(max_span_attributes=5, max_events=3))
        relay = relay_to(receiver)
        provider.add_span_processor(relay)
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{inline_receiver.url}/v1/traces", timeout=5.0))
        )
        count = make_spans(provider)
        assert provider.force_flush(30_000)
        assert relay.pid is not None and not relay.inline, "exported by the exporter process"
        relayed, inline = received(receiver), received(inline_receiver)
        provider.shutdown()
    assert len(inline) == count
    assert relayed == inline
    assert not receiver.bad_requests and relay.dropped == 0
    spans = {s.name: s for s in receiver.spans()}
    assert spans["chat gpt-4o"].status_code == StatusCode.ERROR.value
    assert spans["POST /api/prompt-templates/{template_id}/run"].parent_span_id == "eee19b7ec3c1b174"


def test_a_dead_exporter_process_is_replaced(receiver: OTLPReceiver) -> None:
    provider = TracerProvider(resource=RESOURCE)
    relay = relay_to(receiver)
    provider.add_span_processor(relay)
    tracer = provider.get_tracer("prompter")
    with tracer.start_as_current_span("before"):
        pass
    assert provider.force_flush(30_000)
    first = relay.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: relay._child is not None and not relay._child.alive())
    with tracer.start_as_current_span("after"):
        pass
    assert provider.force_flush(30_000)
    assert relay.pid not in (None, first) and relay.restarts == 1 and not relay.inline
    assert receiver.wait_for_spans(lambda spans: {"before", "after"} <= {s.name for s in spans})
    provider.shutdown()


def test_without_an_exporter_process_spans_are_exported_in_process(receiver: OTLPReceiver) -> None:
    provider = TracerProvider(resource=RESOURCE)
    relay = relay_to(receiver, command=[sys.executable, "-c", "raise SystemExit(3)"])
    provider.add_span_processor(relay)
    with provider.get_tracer("prompter").start_as_current_span("fallback", attributes={"k": "v"}):
        pass
    assert provider.force_flush(30_000)
    assert relay.inline and relay.pid is None
    spans = receiver.wait_for_spans(lambda spans: len(spans) == 1)
    assert [(s.name, s.attributes, s.resource["service.name"]) for s in spans] == [
        ("fallback", {"k": "v"}, "relay-test")
    ]
    provider.shutdown()


def test_a_full_queue_drops_and_counts_and_never_raises(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "3")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")  # the relay thread only drains when asked to
    provider = TracerProvider(resource=RESOURCE)
    relay = relay_to(receiver)
    provider.add_span_processor(relay)
    tracer = provider.get_tracer("prompter")
    for number in range(10):
        with tracer.start_as_current_span(f"span {number}"):
            pass
    assert relay.dropped == 7
    with caplog.at_level(logging.WARNING, logger="prompter.telemetry"):
        assert provider.force_flush(30_000)
    assert "7 spans dropped" in caplog.text
    assert sorted(s.name for s in receiver.wait_for_spans(lambda spans: len(spans) == 3)) == [
        "span 0",
        "span 1",
        "span 2",
    ]
    provider.shutdown()


def test_shutdown_exports_what_is_queued_and_stops_the_exporter_process(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")
    provider = TracerProvider(resource=RESOURCE)
    relay = relay_to(receiver)
    provider.add_span_processor(relay)
    tracer = provider.get_tracer("prompter")
    assert provider.force_flush(30_000)  # the exporter process is up
    child = relay._child
    assert child is not None
    for number in range(20):
        with tracer.start_as_current_span(f"queued {number}"):
            pass
    provider.shutdown()
    assert len(receiver.spans()) == 20, "exported before shutdown returned"
    assert child.popen.returncode == 0
    with tracer.start_as_current_span("after shutdown"):  # dropped, never raised
        pass


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
@pytest.mark.parametrize("span_export", ["process", "inline"])
def test_the_app_exports_a_run_either_way(
    span_export: str, db: str, receiver: OTLPReceiver, make_client: Callable[..., Any], request: pytest.FixtureRequest
) -> None:
    """PROMPTER_SPAN_EXPORT chooses the relay or the stock BatchSpanProcessor; a run's trace arrives whole either way."""
    database = {"db_url": request.getfixturevalue("pg_url"), "db_auto_migrate": True} if db == "postgresql" else {}
    client = make_client(otel_exporter_otlp_endpoint=receiver.url, span_export=span_export, **database)
    handle = client.app.state.runtime.telemetry_handle
    assert (handle.span_relay is not None) == (span_export == "process")
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    run = client.post("/api/prompt-templates/1/run", json=RUN)
    assert run.status_code == 201, run.text
    handle.shutdown()  # what the lifespan does at exit: flushes every span before it returns
    trace_id = run.json()["trace_id"]
    spans = [s for s in receiver.spans() if s.trace_id == trace_id]
    names = sorted(s.name for s in spans if s.scope == "prompter")
    assert names == ["POST /api/prompt-templates/{template_id}/run", "chat gpt-4o", "prompter.ensure_version"]
    statements = [s for s in spans if s.scope == "opentelemetry.instrumentation.sqlalchemy"]
    server = next(s for s in spans if s.kind == "SERVER")
    assert statements and all(s.attributes["db.system"] == db and s.kind == "CLIENT" for s in statements)
    assert any("INSERT INTO prompt_results" in s.attributes["db.statement"] for s in statements)
    assert all(s.parent_span_id for s in statements) and {s.trace_id for s in spans} == {server.trace_id}


STATEMENTS = ["CREATE TABLE t (x INTEGER)", "INSERT INTO t VALUES (1)", "/* c */ SELECT x FROM t", "SELECT x FROM t"]


def exported_statements(receiver: OTLPReceiver, url: str, relayed: bool, sampler: Any = None) -> list[Any]:
    """Run STATEMENTS (and one failing one) under a request span; the spans as received, ids and times made relative."""
    from opentelemetry.metrics import NoOpMeterProvider
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from telemetry import relayed_spans
    from telemetry.statements import StatementTracer

    endpoint = f"{receiver.url}/v1/traces"
    provider = TracerProvider(resource=RESOURCE, **({"sampler": sampler} if sampler is not None else {}))
    relay = relay_to(receiver) if relayed else None
    provider.add_span_processor(relay or BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5.0)))
    tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    fast = relayed_spans.StatementSpans(tracer, relay) if relayed_spans.usable(tracer, relay) else None  # type: ignore[arg-type]
    assert (fast is not None) == relayed
    engine = create_engine(url)
    usage = NoOpMeterProvider().get_meter("noop").create_up_down_counter("usage")
    StatementTracer(tracer, engine, usage, relayed=fast)
    with provider.get_tracer("prompter").start_as_current_span("request"), engine.connect() as conn:
        for statement in STATEMENTS:
            conn.execute(text(statement))
        with pytest.raises(OperationalError):
            conn.execute(text("SELECT nope FROM nowhere"))
    engine.dispose()
    assert provider.force_flush(30_000)
    provider.shutdown()
    out = []
    from opentelemetry.proto.trace.v1.trace_pb2 import Span as PBSpan

    for request in receiver.trace_requests:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    copy = PBSpan()
                    copy.CopyFrom(span)
                    assert span.end_time_unix_nano >= span.start_time_unix_nano > 0
                    copy.trace_id = copy.span_id = copy.parent_span_id = b""
                    copy.start_time_unix_nano = copy.end_time_unix_nano = 0
                    out.append(
                        (
                            resource_spans.resource.SerializeToString(deterministic=True),
                            scope_spans.scope.SerializeToString(deterministic=True),
                            copy.SerializeToString(deterministic=True),
                            len(span.parent_span_id) > 0,
                        )
                    )
    return sorted(out)


@pytest.mark.parametrize("sampler", [None, "always_on"])
def test_relayed_statement_spans_are_the_sdk_spans(tmp_path: Any, sampler: str | None) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    url = f"sqlite:///{tmp_path}/statements.db"
    with OTLPReceiver() as stock_receiver, OTLPReceiver() as relayed_receiver:
        stock = exported_statements(stock_receiver, url, relayed=False, sampler=ALWAYS_ON if sampler else None)
        (tmp_path / "statements.db").unlink()
        relayed = exported_statements(relayed_receiver, url, relayed=True, sampler=ALWAYS_ON if sampler else None)
    assert len(stock) == len(STATEMENTS) + 2  # and the request span
    assert relayed == stock


def test_statement_spans_take_the_sdk_path_when_the_sampler_could_decide_otherwise(receiver: OTLPReceiver) -> None:
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from telemetry import relayed_spans

    relay = relay_to(receiver)
    for sampler, usable in (
        (ParentBased(TraceIdRatioBased(0.1)), True),  # a sampled local parent: its children are always sampled
        (TraceIdRatioBased(0.5), False),  # decides per span
        (ParentBased(TraceIdRatioBased(0.1), local_parent_sampled=TraceIdRatioBased(0.5)), False),
    ):
        provider = TracerProvider(sampler=sampler)
        provider.add_span_processor(relay)
        assert relayed_spans.usable(provider.get_tracer("sql"), relay) is usable
    two = TracerProvider()
    two.add_span_processor(relay)
    two.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces")))
    assert not relayed_spans.usable(two.get_tracer("sql"), relay), "another processor must see SDK spans"
    relay.shutdown()


def test_relayed_statement_spans_are_exported_in_process_without_an_exporter_process(receiver: OTLPReceiver) -> None:
    from telemetry import relayed_spans

    provider = TracerProvider(resource=RESOURCE)
    relay = relay_to(receiver, command=[sys.executable, "-c", "raise SystemExit(3)"])
    provider.add_span_processor(relay)
    tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    spans = relayed_spans.StatementSpans(tracer, relay)
    with provider.get_tracer("prompter").start_as_current_span("request") as request:
        statement = spans.start("SELECT", spans.prepare({"db.system": "sqlite"}), request.get_span_context())
        assert statement is not None and statement.is_recording()
        statement.set_status(Status(StatusCode.ERROR, "no such table"))
        statement.end()
        statement.end()  # once only
    assert provider.force_flush(30_000) and relay.inline
    got = {s.name: s for s in receiver.wait_for_spans(lambda spans: len(spans) == 2)}
    assert got["SELECT"].parent_span_id == got["request"].span_id and got["SELECT"].kind == "CLIENT"
    assert got["SELECT"].status_code == StatusCode.ERROR.value and got["SELECT"].attributes == {"db.system": "sqlite"}
    provider.shutdown()


class CountingIds:
    """A deterministic id generator: two providers fed the same calls make the same ids."""

    def __init__(self) -> None:
        self.next = 0x1000

    def generate_span_id(self) -> int:
        self.next += 1
        return self.next

    def generate_trace_id(self) -> int:
        self.next += 1
        return (self.next << 64) | (self.next * 0x9E3779B97F4A7C15 % 2**64)  # low bits vary: ratio sampling varies

    def is_trace_id_random(self) -> bool:
        return True


class Boom(Exception):
    code = "provider_timeout"


def domain_trace(telemetry: Any) -> None:
    """What a request does with the port: a server span under a remote parent, the ensure-version step with a probe
    inside, an LLM call that answers and one that fails, a step that raises, events, renames, statuses, limits."""
    from telemetry.port import Telemetry

    assert isinstance(telemetry, Telemetry)
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("v", "1")]))
    root = telemetry.start_span("POST", kind=SpanKind.SERVER, context=trace.set_span_in_context(remote))
    with trace.use_span(root, end_on_exit=True):
        with telemetry.ensure_version(1, "openai", "gpt-4o") as step:
            with telemetry.probe("openai", "gpt-4o"):
                pass
            step.outcome(created=True, drift=False)
        with telemetry.llm_call("openai", "gpt-4o") as call:
            call.set_response(model="gpt-4o-2024", input_tokens=3, output_tokens=5, system_fingerprint="fp_1")
        with pytest.raises(Boom), telemetry.llm_call("openai", "gpt-4o"):
            raise Boom("timed out")
        with pytest.raises(ValueError), telemetry.span("prompter.step", n=1):
            raise ValueError("bad")
        with telemetry.span("prompter.more", a=1, b="x", c=True, d=2.5, e=("p", "q")) as more:
            more.add_event("note", {"k": 1})
            more.update_name("prompter.renamed")
            more.set_status(Status(StatusCode.OK))
            more.set_status(Status(StatusCode.ERROR, "ignored after OK"))
        root.set_attributes({"http.route": "/x", "http.response.status_code": 500})
        root.set_status(Status(StatusCode.ERROR))
    for number in range(12):  # roots: the sampler decides each
        with trace.use_span(telemetry.start_span(f"GET {number}", kind=SpanKind.SERVER), end_on_exit=True):
            with telemetry.span("prompter.ensure_version", template_id=number):
                pass


def export_domain_trace(relayed: bool, sampler: Any) -> list[bytes]:
    from opentelemetry.proto.trace.v1.trace_pb2 import Span as PBSpan

    from telemetry import relayed_spans
    from telemetry.port import Telemetry

    with OTLPReceiver() as receiver:
        provider = TracerProvider(
            resource=RESOURCE, id_generator=CountingIds(), span_limits=SpanLimits(max_attributes=4), sampler=sampler
        )
        endpoint = f"{receiver.url}/v1/traces"
        relay = relay_to(receiver) if relayed else None
        provider.add_span_processor(relay or BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5.0)))
        tracer: Any = provider.get_tracer("prompter")
        if relay is not None:
            assert relayed_spans.usable(tracer, relay)
            tracer = relayed_spans.RelayTracer(tracer, relay)
        domain_trace(Telemetry(None, tracer))
        assert provider.force_flush(30_000)
        provider.shutdown()
        out = []
        for request in receiver.trace_requests:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        copy = PBSpan()
                        copy.CopyFrom(span)
                        copy.start_time_unix_nano = copy.end_time_unix_nano = 0
                        for event in copy.events:
                            event.time_unix_nano = 0
                        out.append(
                            resource_spans.resource.SerializeToString(deterministic=True)
                            + scope_spans.scope.SerializeToString(deterministic=True)
                            + copy.SerializeToString(deterministic=True)
                        )
    return sorted(out)


@pytest.mark.parametrize("ratio", [None, 0.5])
def test_domain_spans_through_the_relay_tracer_are_the_sdk_spans(ratio: float | None) -> None:
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    sampler = ParentBased(TraceIdRatioBased(ratio)) if ratio is not None else None
    stock = export_domain_trace(relayed=False, sampler=sampler)
    if ratio is None:
        assert len(stock) == 7 + 24
    else:
        assert 7 + 2 <= len(stock) <= 7 + 22, "some roots sampled, some not"
    assert export_domain_trace(relayed=True, sampler=sampler) == stock
