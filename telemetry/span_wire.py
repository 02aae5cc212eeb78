"""Finished spans as plain tuples, and back: what the span relay sends its exporter process (telemetry/span_relay.py).

A frame is a 4-byte big-endian length and a `marshal`-ed message. marshal (not pickle) because it only carries plain
values - str, int, float, bool, None, tuples, lists and dicts - which is all a span is once the SDK has cleaned its
attributes, and it encodes them in C at a fraction of the cost of building OTLP protobuf messages in the request
process. Messages:

    ("resource", index, attributes, schema_url)                      sent before the first span that uses it
    ("scope", index, name, version, schema_url, attributes)          idem
    ("spans", [span, ...])                                           see `compact`
    ("flush", sequence)                                              export what came before, then answer the sequence

The exporter process answers on its stdout with one line per message that asks for it: `ready` once it can export,
and the flush sequence once everything before it was exported.
"""

from __future__ import annotations

import marshal
import struct
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

HEADER = struct.Struct(">I")


def frame(message: Any) -> bytes:
    body = marshal.dumps(message)
    return HEADER.pack(len(body)) + body


def _attributes(attributes: Any) -> tuple[dict[str, Any], int]:
    if not attributes:
        return {}, 0
    inner = getattr(attributes, "_dict", None)  # BoundedAttributes: copy its dict in C, not key by key in Python
    if inner is not None:
        return dict(inner), attributes.dropped
    return dict(attributes), 0


def _context(context: SpanContext | None) -> tuple[Any, ...] | None:
    if context is None:
        return None
    state = context.trace_state
    flags = int(context.trace_flags)
    return context.trace_id, context.span_id, context.is_remote, flags, tuple(state.items()) if state else ()


# Enum `.value` is a descriptor call; a dict lookup is cheaper on the relay thread.
_KIND = {kind: kind.value for kind in SpanKind}
_STATUS = {code: code.value for code in StatusCode}


def compact(span: ReadableSpan, resource: int, scope: int) -> tuple[Any, ...]:
    """One finished span as a tuple of plain values (`resource`/`scope`: indexes sent before in their own message)."""
    attributes, dropped_attributes = _attributes(span._attributes)
    events: tuple[Any, ...] = ()
    if span._events:
        events = tuple((event.name, event.timestamp, *_attributes(event.attributes)) for event in span._events)
    links: tuple[Any, ...] = ()
    if span._links:
        links = tuple((_context(link.context), *_attributes(link.attributes)) for link in span._links)
    status = span._status
    return (
        span._name,
        _context(span._context),
        _context(span._parent),
        _KIND[span._kind],
        span._start_time,
        span._end_time,
        attributes,
        dropped_attributes,
        events,
        getattr(span._events, "dropped", 0),
        links,
        getattr(span._links, "dropped", 0),
        _STATUS[status.status_code],
        status.description,
        resource,
        scope,
    )


class RebuiltSpan(ReadableSpan):
    """A ReadableSpan rebuilt from `compact`'s tuple: what the stock OTLP exporter encodes, with the dropped counts."""

    def __init__(self, *args: Any, dropped: tuple[int, int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dropped = dropped

    @property
    def dropped_attributes(self) -> int:
        return self._dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped[2]


class _RebuiltEvent(Event):
    def __init__(self, name: str, timestamp: int, attributes: dict[str, Any], dropped: int) -> None:
        super().__init__(name, attributes, timestamp)
        self._dropped_count = dropped

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_count


class _RebuiltLink(Link):
    def __init__(self, context: SpanContext, attributes: dict[str, Any], dropped: int) -> None:
        super().__init__(context, attributes)
        self._dropped_count = dropped

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_count


def _span_context(values: tuple[Any, ...] | None) -> SpanContext | None:
    if values is None:
        return None
    trace_id, span_id, is_remote, flags, state = values
    return SpanContext(trace_id, span_id, is_remote, TraceFlags(flags), TraceState(list(state)) if state else None)


class Rebuilder:
    """Turns the relay's messages back into ReadableSpans, keeping the resources and scopes it was told about."""

    def __init__(self) -> None:
        self.resources: dict[int, Resource] = {}
        self.scopes: dict[int, InstrumentationScope | None] = {}

    def define(self, message: tuple[Any, ...]) -> None:
        if message[0] == "resource":
            _, index, attributes, schema_url = message
            self.resources[index] = Resource(attributes, schema_url)
        else:
            _, index, name, version, schema_url, attributes = message
            self.scopes[index] = None if name is None else InstrumentationScope(name, version, schema_url, attributes)

    def span(self, values: tuple[Any, ...]) -> ReadableSpan:
        (name, context, parent, kind, start, end, attributes, dropped_attributes, events, dropped_events, links,
         dropped_links, status_code, status_description, resource, scope) = values  # fmt: skip
        return RebuiltSpan(
            name,
            context=_span_context(context),
            parent=_span_context(parent),
            resource=self.resources[resource],
            attributes=attributes,
            events=tuple(_RebuiltEvent(*event) for event in events),
            links=tuple(_RebuiltLink(_span_context(c) or trace.INVALID_SPAN_CONTEXT, a, d) for c, a, d in links),
            kind=SpanKind(kind),
            status=Status(StatusCode(status_code), status_description),
            start_time=start,
            end_time=end,
            instrumentation_scope=self.scopes[scope],
            dropped=(dropped_attributes, dropped_events, dropped_links),
        )
