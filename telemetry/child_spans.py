"""A tracer provider for library instrumentation (SQLAlchemy, Redis, httpx) that records a span only under a parent.

Statements run outside any request or domain step - the migrations at startup, the background Redis health PING every
couple of seconds - would otherwise each become a one-span trace in the collector: noise that costs export bandwidth
and hides the traces that matter. Inside a request (or any span a background job opens) nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.util._decorator import _agnosticcontextmanager


def _has_parent(context: Context | None) -> bool:
    return trace.get_current_span(context).get_span_context().is_valid


class ChildSpansOnlyTracer(trace.Tracer):
    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(self, name: str, context: Context | None = None, *args: Any, **kwargs: Any) -> trace.Span:
        if not _has_parent(context):
            return trace.INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    @_agnosticcontextmanager
    def start_as_current_span(
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        if not _has_parent(context):
            yield trace.INVALID_SPAN
            return
        with self._tracer.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span


class ChildSpansOnlyTracerProvider(trace.TracerProvider):
    def __init__(self, provider: trace.TracerProvider) -> None:
        self._provider = provider

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return ChildSpansOnlyTracer(self._provider.get_tracer(*args, **kwargs))
