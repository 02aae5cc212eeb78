"""A sampled-out request costs no span work: the sampler is asked once (for the server span) and nothing else of the
request - the ensure-version step, the LLM call, the SQL statements - reaches the SDK; the trace id still propagates
to the stored result. A sampled request under the same provider is traced whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from litestar.testing import TestClient
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind

from telemetry.http import HTTPTelemetryMiddleware
from telemetry.port import Telemetry

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}
RUN = {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada"}}
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
NOT_SAMPLED = f"00-{TRACE_ID}-b7ad6b7169203331-00"
SAMPLED = f"00-{TRACE_ID}-b7ad6b7169203331-01"


class CountingSampler(Sampler):
    """ParentBased(ALWAYS_ON) - honours the caller's sampled flag - counting what it is asked about."""

    def __init__(self) -> None:
        self.inner = ParentBased(ALWAYS_ON)
        self.asked: list[str] = []

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        self.asked.append(name)
        return self.inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "counting"


@pytest.fixture
def sampler() -> CountingSampler:
    return CountingSampler()


@pytest.fixture
def provider(sampler: CountingSampler, span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


def test_a_sampled_out_run_asks_the_sampler_once_and_records_nothing(
    make_client: Callable[..., TestClient],
    provider: TracerProvider,
    sampler: CountingSampler,
    span_exporter: InMemorySpanExporter,
) -> None:
    client = make_client(app_kwargs={"tracer_provider": provider})
    assert client.post("/api/prompt-templates", json=TEMPLATE, headers={"traceparent": NOT_SAMPLED}).status_code == 201
    sampler.asked.clear()
    span_exporter.clear()
    run = client.post("/api/prompt-templates/1/run", json=RUN, headers={"traceparent": NOT_SAMPLED})
    assert run.status_code == 201, run.text
    assert sampler.asked == ["POST"]  # the server span only (named by route once routed)
    assert span_exporter.get_finished_spans() == ()
    assert run.json()["trace_id"] == TRACE_ID  # propagated, though not recorded

    traced = client.post("/api/prompt-templates/1/run", json=RUN, headers={"traceparent": SAMPLED})
    names = {s.name for s in span_exporter.get_finished_spans()}
    assert {"POST /api/prompt-templates/{template_id}/run", "prompter.ensure_version", "chat gpt-4o"} <= names
    assert traced.json()["trace_id"] == TRACE_ID


def test_a_request_without_trace_headers_starts_a_new_trace(
    make_client: Callable[..., TestClient], provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(app_kwargs={"tracer_provider": provider})
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    (server,) = [s for s in span_exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert server.parent is None and server.name == "POST /api/prompt-templates"


@pytest.mark.parametrize(
    ("propagators", "headers", "extracts"),
    [
        (None, [], False),
        (None, [(b"traceparent", SAMPLED.encode())], True),
        (None, [(b"baggage", b"k=v")], True),
        ("tracecontext", [(b"content-type", b"application/json")], False),
        ("b3", [], True),  # another propagator reads other headers: always extract
        ("tracecontext,baggage,b3multi", [], True),
    ],
)
def test_the_propagators_run_only_when_a_request_may_carry_context(
    propagators: str | None,
    headers: list[tuple[bytes, bytes]],
    extracts: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if propagators is None:
        monkeypatch.delenv("OTEL_PROPAGATORS", raising=False)
    else:
        monkeypatch.setenv("OTEL_PROPAGATORS", propagators)
    middleware = HTTPTelemetryMiddleware(None, Telemetry.disabled(), tracing=True)
    assert middleware._may_carry_context({"headers": headers}) is extracts
