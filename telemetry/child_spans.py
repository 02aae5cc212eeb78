"""A tracer provider for library instrumentation (SQLAlchemy, Redis, httpx) that records a span only under a parent.

Statements run outside any request or domain step - the migrations at startup, the background Redis health PING every
couple of seconds - would otherwise each become a one-span trace in the collector: noise that costs export bandwidth
and hides the traces that matter. Inside a recorded request (or any span a background job opens) nothing changes;
inside a sampled-out one the library's span is a non-recording span in the parent's context, made without the SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.util._decorator import _agnosticcontextmanager


def unrecorded_child(context: Context | None = None) -> trace.Span | None:
    """The span to use instead of a new child when the parent is not recorded: INVALID_SPAN without a parent; for a
    local parent that is not recorded (sampled out), a non-recording span in its context - the trace id and the
    sampled-out flag still propagate, and the SDK's sampler, span and attributes are skipped (a parent-based sampler
    would decide "drop" anyway). None: start a real child (the parent records, or is remote and the sampler decides)."""
    parent = trace.get_current_span(context)
    if parent.is_recording():
        return None
    span_context = parent.get_span_context()
    if not span_context.is_valid:
        return trace.INVALID_SPAN
    if span_context.is_remote:
        return None
    return trace.NonRecordingSpan(span_context)


class ChildSpansOnlyTracer(trace.Tracer):
    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(self, name: str, context: Context | None = None, *args: Any, **kwargs: Any) -> trace.Span:
        unrecorded = unrecorded_child(context)
        if unrecorded is not None:
            return unrecorded
        return self._tracer.start_span(name, context, *args, **kwargs)

    @_agnosticcontextmanager
    def start_as_current_span(
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        unrecorded = unrecorded_child(context)
        if unrecorded is not None:
            with trace.use_span(unrecorded, end_on_exit=False):
                yield unrecorded
            return
        with self._tracer.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span


class ChildSpansOnlyTracerProvider(trace.TracerProvider):
    def __init__(self, provider: trace.TracerProvider) -> None:
        self._provider = provider

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return ChildSpansOnlyTracer(self._provider.get_tracer(*args, **kwargs))
