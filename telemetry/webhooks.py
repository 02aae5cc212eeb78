"""Trace context for webhooks: the change's W3C `traceparent` is kept on its outbox row when the change is written, and
the delivery - minutes or hours later, in whichever replica - sends it on, so the receiver's trace joins the change's.

With tracing on, each attempt is a client span `prompter.webhook.deliver` under the change's span, and the receiver
gets that span as its parent; with tracing off the change's own traceparent (if it had one) travels unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from telemetry.port import Telemetry

_PROPAGATOR = TraceContextTextMapPropagator()


def current_traceparent() -> str | None:
    """The `traceparent` of the active span (the request's), or None when there is none."""
    carrier: dict[str, str] = {}
    try:
        if trace.get_current_span().get_span_context().is_valid:
            _PROPAGATOR.inject(carrier)
    except Exception:  # noqa: BLE001 - telemetry never fails the change that is being written
        return None
    return carrier.get("traceparent")


@contextmanager
def delivery_span(
    telemetry: Telemetry, traceparent: str | None, *, event_type: str, endpoint_id: int
) -> Iterator[dict[str, str]]:
    """Around one delivery attempt; yields the trace headers to send (empty when the change had no trace)."""
    if traceparent is None:
        yield {}
        return
    parent = telemetry.guard("webhook trace context", _PROPAGATOR.extract, {"traceparent": traceparent})
    attributes = {"prompter.webhook.event_type": event_type, "prompter.webhook.endpoint_id": endpoint_id}
    span = telemetry.start_span("prompter.webhook.deliver", kind=SpanKind.CLIENT, attributes=attributes, context=parent)
    with trace.use_span(span, end_on_exit=True):
        carrier: dict[str, str] = {}
        if span.get_span_context().is_valid:
            telemetry.guard("webhook trace inject", _PROPAGATOR.inject, carrier)
        yield {"traceparent": carrier.get("traceparent", traceparent)}
