"""With opentelemetry-api installed, requests carry the current span's W3C traceparent."""

from __future__ import annotations

import pytest
from client_helpers import FakePrompter
from prompter_client import tracing

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk (test dependency) not installed")


def test_requests_carry_the_current_traceparent(fake: FakePrompter, make_prompter) -> None:
    fake.set("greet", "v")
    tracer = sdk_trace.TracerProvider().get_tracer("app")
    p = make_prompter()
    with tracer.start_as_current_span("handle request") as span:
        p.get_prompt("greet")
        context = span.get_span_context()
    assert (
        fake.gets[0].headers["traceparent"]
        == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    )
    fake.set("other", "v")
    p.get_prompt("other")  # outside any span
    assert "traceparent" not in fake.gets[1].headers


def test_without_opentelemetry_no_header_and_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "_inject", None)
    assert tracing.trace_headers() == {}

    def broken(carrier: dict[str, str]) -> None:
        raise RuntimeError("a broken propagator")

    monkeypatch.setattr(tracing, "_inject", broken)
    assert tracing.trace_headers() == {}
