"""Traces with the SDK's in-memory exporter: one server span per request named by route template, the incoming
traceparent honoured, domain / GenAI / auto-instrumented DB spans in one tree, and the result stamped with the trace id."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from service.providers import ProviderRegistry
from service.providers.base import PROVIDERS
from service.providers.fake import FakeProvider
from tests.telemetry.fakes import FailingProbeProvider

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}, tell me a secret"}
RUN = {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada Lovelace"}}
RENDERED = "Hello Ada Lovelace, tell me a secret"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
RUN_ROUTE = "/api/prompt-templates/{template_id}/run"


def hex_trace(span: ReadableSpan) -> str:
    return format(span.context.trace_id, "032x")


def hex_span(span_id: int) -> str:
    return format(span_id, "016x")


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{name}: {[s.name for s in spans]}"
    return found[0]


def db_spans(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.instrumentation_scope.name == "opentelemetry.instrumentation.sqlalchemy"]


def test_one_server_span_per_request_named_by_route_template(
    traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter
) -> None:
    client = traced()
    span_exporter.clear()
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    assert client.get("/api/prompt-templates/1").status_code == 200
    assert client.get("/no/such/path").status_code == 404
    assert client.delete("/api/prompt-templates/1").status_code == 405
    assert client.request("PROPFIND", "/api/prompt-templates").status_code in {404, 405}
    assert client.get("/metrics").status_code == 200  # not traced, not measured

    servers = [s for s in span_exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert [(s.name, s.attributes["http.route"], s.attributes["http.response.status_code"]) for s in servers] == [
        ("POST /api/prompt-templates", "/api/prompt-templates", 201),
        ("GET /api/prompt-templates/{template_id}", "/api/prompt-templates/{template_id}", 200),
        ("GET <unmatched>", "<unmatched>", 404),
        ("DELETE <unmatched>", "<unmatched>", 405),
        ("OTHER <unmatched>", "<unmatched>", servers[-1].attributes["http.response.status_code"]),
    ]
    assert servers[1].attributes["url.path"] == "/api/prompt-templates/1"
    assert servers[1].attributes["http.request.method"] == "GET"
    assert servers[-1].attributes["http.request.method"] == "OTHER"
    assert len({hex_trace(s) for s in servers}) == len(servers), "each request without traceparent is its own trace"
    assert all(s.parent is None for s in servers)


def run_traced_and_check(client: TestClient, span_exporter: InMemorySpanExporter, db_system: str) -> None:
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    span_exporter.clear()
    response = client.post("/api/prompt-templates/1/run", json=RUN, headers={"traceparent": TRACEPARENT})
    assert response.status_code == 201, response.text
    result = response.json()
    spans = span_exporter.get_finished_spans()

    # One trace, continued from the caller's traceparent.
    assert {hex_trace(s) for s in spans} == {TRACE_ID}
    server = one(spans, f"POST {RUN_ROUTE}")
    assert server.kind == SpanKind.SERVER and server.parent.is_remote
    assert hex_span(server.parent.span_id) == PARENT_SPAN_ID
    assert server.attributes["http.route"] == RUN_ROUTE

    # server -> chat gpt-4o (the one provider call), then server -> prompter.ensure_version (the version of the identity
    # that call reported). No probe.
    run_call = one(spans, "chat gpt-4o")
    assert run_call.parent is not None and run_call.parent.span_id == server.context.span_id
    ensure = one(children(spans, server), "prompter.ensure_version")
    assert ensure.attributes["gen_ai.provider.name"] == "openai"
    assert ensure.attributes["prompter.version.created"] is True
    assert ensure.start_time >= run_call.end_time
    assert not [s for s in spans if s.name == "prompter.probe"]
    assert run_call.kind == SpanKind.CLIENT
    assert run_call.attributes["gen_ai.operation.name"] == "chat"
    assert run_call.attributes["gen_ai.provider.name"] == "openai"
    assert run_call.attributes["gen_ai.request.model"] == "gpt-4o"
    assert run_call.attributes["gen_ai.response.model"] == "gpt-4o"
    assert run_call.attributes["openai.response.system_fingerprint"] == result["system_fingerprint"]
    assert run_call.attributes["gen_ai.usage.input_tokens"] == result["usage"]["input_tokens"]
    assert run_call.attributes["gen_ai.usage.output_tokens"] == result["usage"]["output_tokens"]

    # Auto-instrumented SQLAlchemy spans: under ensure_version (version lookup/insert) and under the server (result).
    statements = db_spans(spans)
    assert statements, "no SQLAlchemy spans: is the instrumentor running on SQLAlchemy 2.0.x?"
    assert all(s.attributes["db.system"] == db_system for s in statements)
    assert any("INSERT INTO prompt_versions" in s.attributes["db.statement"] for s in db_spans(children(spans, ensure)))
    assert any("INSERT INTO prompt_results" in s.attributes["db.statement"] for s in db_spans(children(spans, server)))
    assert all(s.parent is not None for s in statements)

    # The stored result carries this trace id (the response and a later read agree).
    assert result["trace_id"] == TRACE_ID
    assert client.get(f"/api/prompt-results/{result['id']}").json()["trace_id"] == TRACE_ID


def test_run_is_one_trace_with_domain_llm_and_db_spans_on_sqlite(
    traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter
) -> None:
    run_traced_and_check(traced(), span_exporter, "sqlite")


def test_run_is_one_trace_with_domain_llm_and_db_spans_on_postgresql(
    traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter, pg_url: str
) -> None:
    run_traced_and_check(traced(db_url=pg_url, db_auto_migrate=True), span_exporter, "postgresql")


def test_db_statements_outside_a_request_make_no_orphan_traces(
    traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter
) -> None:
    traced()  # startup ran the migrations through the instrumented engine
    assert span_exporter.get_finished_spans() == ()


def test_without_traceparent_the_result_stores_the_new_trace_id(
    traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter
) -> None:
    client = traced()
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    span_exporter.clear()
    result = client.post("/api/prompt-templates/1/run", json=RUN).json()
    server = one(span_exporter.get_finished_spans(), f"POST {RUN_ROUTE}")
    assert server.parent is None
    assert result["trace_id"] == hex_trace(server)


def all_attribute_text(spans: Sequence[ReadableSpan]) -> str:
    return "\n".join(str(value) for s in spans for value in (s.attributes or {}).values())


def test_prompt_and_output_text_stay_off_spans_by_default(
    traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter
) -> None:
    client = traced()
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    span_exporter.clear()
    result = client.post("/api/prompt-templates/1/run", json=RUN).json()
    text = all_attribute_text(span_exporter.get_finished_spans())
    assert "Ada Lovelace" not in text and "tell me a secret" not in text
    assert result["output"] not in text
    assert "gen_ai.input.messages" not in {k for s in span_exporter.get_finished_spans() for k in s.attributes}


def test_prompt_and_output_text_on_the_llm_span_when_enabled(
    traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter
) -> None:
    client = traced(trace_content=True)
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    span_exporter.clear()
    result = client.post("/api/prompt-templates/1/run", json=RUN).json()
    spans = span_exporter.get_finished_spans()
    run_call = one(children(spans, one(spans, f"POST {RUN_ROUTE}")), "chat gpt-4o")
    assert RENDERED in str(run_call.attributes["gen_ai.input.messages"])
    assert result["output"] in str(run_call.attributes["gen_ai.output.messages"])


def test_a_failed_probe_marks_the_llm_and_server_spans(
    traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter
) -> None:
    registry = ProviderRegistry({**{p: FakeProvider(p) for p in PROVIDERS}, "google": FailingProbeProvider("google")})
    client = traced(app_kwargs={"providers": registry})
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    span_exporter.clear()
    response = client.post("/api/prompt-templates/1/ensure-version", json={"provider": "google", "model_id": "gemini"})
    assert response.status_code == 502
    spans = span_exporter.get_finished_spans()
    call = one(spans, "chat gemini")
    assert call.status.status_code == StatusCode.ERROR
    assert call.attributes["error.type"] == "provider_unavailable"
    assert any(event.name == "exception" for event in call.events)
    assert one(spans, "prompter.probe").status.status_code == StatusCode.ERROR
    server = one(spans, "POST /api/prompt-templates/{template_id}/ensure-version")
    assert server.attributes["http.response.status_code"] == 502
    assert server.status.status_code == StatusCode.ERROR


def test_redis_client_spans_are_children_of_the_current_span(
    redis_url: str, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    """The handle's Redis instrumentation, on a real redis-server: a command inside a span is traced under it, a
    command outside any span (a background health PING) is not traced at all."""
    import asyncio

    from redis.asyncio import Redis

    from telemetry import TelemetryConfig, setup_telemetry

    handle = setup_telemetry(TelemetryConfig(prometheus=False), tracer_provider=tracer_provider)

    async def scenario() -> None:
        client = Redis.from_url(redis_url)
        handle.instrument_redis(client)
        try:
            await client.ping()  # no parent: not traced
            with handle.telemetry.span("prompter.probe"):
                await client.set("prompter:test", "1")
                await client.get("prompter:test")
        finally:
            await client.aclose()

    asyncio.run(scenario())
    spans = span_exporter.get_finished_spans()
    parent = one(spans, "prompter.probe")
    assert sorted(s.name for s in children(spans, parent)) == ["GET", "SET"]
    assert all(s.attributes["db.system"] == "redis" for s in children(spans, parent))
    assert len(spans) == 3


def test_redis_spans_join_the_request_trace(
    traced: Callable[..., TestClient], span_exporter: InMemorySpanExporter, redis_url: str
) -> None:
    client = traced(redis_url=redis_url)
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    span_exporter.clear()
    response = client.post(
        "/api/prompt-templates/1/ensure-version",
        json={"provider": "openai", "model_id": "gpt-4o"},
        headers={"traceparent": TRACEPARENT},
    )
    assert response.status_code == 201, response.text
    spans = span_exporter.get_finished_spans()
    redis_spans = [s for s in spans if s.instrumentation_scope.name == "opentelemetry.instrumentation.redis"]
    assert redis_spans, [s.name for s in spans]
    assert {hex_trace(s) for s in redis_spans} == {TRACE_ID}
    assert any(s.name == "GET" for s in redis_spans) and any(s.name == "SET" for s in redis_spans)
    ensure = one(spans, "prompter.ensure_version")
    by_id = {s.context.span_id: s for s in spans}

    def under(span: ReadableSpan, ancestor: ReadableSpan) -> bool:
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            if span is ancestor:
                return True
        return False

    assert all(under(s, ensure) for s in redis_spans)
    # The background health PING runs outside any request: it never shows up as a span of its own.
    assert all(s.parent is not None for s in redis_spans)
