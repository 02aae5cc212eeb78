"""Spans made for the span relay without the SDK's per-span machinery: SQL statement spans as plain tuples, and the
children Prompter's own code starts (the ensure-version step, the LLM call) as SDK spans built the short way.

Statement spans.
A statement span is the simplest span there is: never current (nothing runs under it), no events, no links, the same
attributes for every execution of a statement text, ended right after the cursor returns, and at most an error status.
The SDK still pays for it what it pays for any span - sampler, SpanContext, a lock, BoundedAttributes that validate
every attribute again, two bounded lists, a ReadableSpan copy at the end - about 25 µs. When the span relay is the
only span processor (it exports what is queued and nothing else looks at a span) and the sampler would answer
"record and sample, nothing added" for any child of a sampled local parent (parent-based or always-on sampling),
`StatementSpans` makes the same span as a plain tuple instead: the provider's id generator and span limits, the parent's
trace flags and state, `time.time_ns()` for both ends. The exported span is the SDK's, field for field (tested).

Domain spans. `RelayTracer` gives every span it records a `RelayedSpan`: the SDK's own Span class - every
attribute, event, status and exception rule is the SDK's - constructed without the tracer's sampler round, the span
processors' start and end hooks and the ReadableSpan copy at the end; ending it puts it on the relay's queue. Roots and
children of remote parents are asked of the provider's sampler, exactly as the SDK's start_span asks it; anything
unusual (links, explicit start times, exception recording switched off) goes to the SDK tracer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, Tracer
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, StaticSampler
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util._decorator import _agnosticcontextmanager

from telemetry.span_relay import SpanRelay

log = logging.getLogger("opentelemetry.sdk.trace")  # the SDK's own logger, for the SDK's own warnings
CLIENT = SpanKind.CLIENT.value
SAMPLED = TraceFlags.SAMPLED
RANDOM = TraceFlags.RANDOM_TRACE_ID
SAMPLED_RANDOM = TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID
FLAGS = {False: TraceFlags(SAMPLED), True: TraceFlags(SAMPLED_RANDOM)}
UNSET_STATUS = Status(StatusCode.UNSET)
UNSET, ERROR = StatusCode.UNSET.value, StatusCode.ERROR.value


def _always_samples(sampler: Any) -> bool:
    return isinstance(sampler, StaticSampler) and sampler._decision is Decision.RECORD_AND_SAMPLE


def usable(tracer: Any, relay: SpanRelay | None) -> bool:
    """Whether a child of a sampled local parent made by this tracer would be a plain sampled span exported only by
    `relay` - so a relayed statement span is exactly what the SDK would have exported."""
    if relay is None or not isinstance(tracer, Tracer) or not tracer._is_enabled():
        return False
    processors = getattr(tracer.span_processor, "_span_processors", ())
    if tuple(processors) != (relay,):
        return False
    sampler = tracer.sampler
    if isinstance(sampler, ParentBased):
        return _always_samples(getattr(sampler, "_local_parent_sampled", None))
    return sampler is ALWAYS_ON or _always_samples(sampler)


class StatementSpan:
    """The span a statement gets: what EngineTracer calls on it (is_recording, set_status, end), nothing more."""

    __slots__ = ("_fields", "_owner", "_status", "ended")

    def __init__(self, owner: StatementSpans, fields: tuple[Any, ...]) -> None:
        self._owner, self._fields, self.ended = owner, fields, False
        self._status: tuple[int, str | None] = (UNSET, None)

    def is_recording(self) -> bool:
        return not self.ended

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self.ended:
            return
        if isinstance(status, Status):
            code, description = status.status_code, status.description
        else:
            code = status
        if self._status[0] == StatusCode.OK.value:  # OK is final, as in the SDK
            return
        self._status = (code.value, description if code is StatusCode.ERROR else None)

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        name, context, parent, start, attributes, dropped = self._fields
        owner = self._owner
        owner.relay.enqueue(
            (
                name,
                context,
                parent,
                CLIENT,
                start,
                time.time_ns(),
                attributes,
                dropped,
                (),
                0,
                (),
                0,
                *self._status,
                owner.resource,
                owner.scope,
            )  # fmt: skip
        )


class StatementSpans:
    def __init__(self, tracer: Tracer, relay: SpanRelay) -> None:
        self.relay = relay
        self.resource = tracer.resource
        self.scope = tracer._instrumentation_scope
        self._limits = tracer._span_limits
        self._span_id = tracer.id_generator.generate_span_id

    def prepare(self, attributes: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Attributes as the SDK would keep them (validated, limited, truncated), with how many it would drop."""
        bounded = BoundedAttributes(
            self._limits.max_span_attributes,
            attributes,
            immutable=False,
            max_value_len=self._limits.max_span_attribute_length,
        )
        return dict(bounded._dict), bounded.dropped

    def start(self, name: str, prepared: tuple[dict[str, Any], int], parent: SpanContext) -> StatementSpan | None:
        """A statement span under `parent` (a sampled, local, recording span); None when the parent is not sampled."""
        flags = parent.trace_flags
        if not flags.sampled:
            return None
        state = parent.trace_state
        context = (
            parent.trace_id,
            self._span_id(),
            False,
            SAMPLED_RANDOM if flags.random_trace_id else SAMPLED,
            tuple(state.items()) if state else (),
        )
        parent_fields = (parent.trace_id, parent.span_id, parent.is_remote, int(flags), context[4])
        return StatementSpan(self, (name, context, parent_fields, time.time_ns(), *prepared))


# Attribute values the SDK's validation returns unchanged (without a value length limit): for these, and non-empty
# string keys, a copy into the span's attribute dict is exactly what BoundedAttributes would store.
PLAIN_TYPES = frozenset({str, bool, int, float})


def _plain(attributes: Any) -> bool:
    for key, value in attributes.items():
        if type(key) is not str or not key or type(value) not in PLAIN_TYPES:
            return False
    return True


class RelayedSpan(Span):
    """An SDK span (all its methods are the SDK's) with a short constructor, and an end that queues it for the relay."""

    def __init__(  # noqa: PLR0913 - the fields the SDK's Span methods read
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Any,
        owner: RelayTracer,
    ) -> None:
        limits = owner.limits
        self._name, self._context, self._parent, self._kind = name, context, parent, kind
        self._resource, self._instrumentation_scope, self._instrumentation_info = owner.resource, owner.scope, None
        self._status = UNSET_STATUS
        self._sampler, self._trace_config, self._span_processor = owner.sampler, None, owner.processor
        self._record_exception = self._set_status_on_exception = True
        self._limits, self._lock, self._record_end_metrics = limits, threading.Lock(), None
        max_attributes = limits.max_span_attributes
        self._plain_ok = limits.max_span_attribute_length is None and max_attributes is not None
        if (
            attributes
            and max_attributes is not None
            and self._plain_ok
            and len(attributes) <= max_attributes
            and _plain(attributes)
        ):
            self._attributes = BoundedAttributes(limits.max_span_attributes, None, immutable=False)
            self._attributes._dict.update(attributes)
        else:
            self._attributes = BoundedAttributes(
                limits.max_span_attributes, attributes, immutable=False, max_value_len=limits.max_span_attribute_length
            )
        self._events = BoundedList(limits.max_events)
        self._links = BoundedList(limits.max_links)
        self._end_time = None
        self._start_time = time.time_ns()
        self._relay = owner.relay

    def set_attributes(self, attributes: Any) -> None:
        """The SDK's set_attributes; plain values under the limits (what Prompter sets) skip re-validation."""
        bounded: Any = self._attributes
        if (
            self._plain_ok
            and len(bounded._dict) + len(attributes) <= bounded.maxlen
            and bounded._dict.keys().isdisjoint(attributes)
            and _plain(attributes)
        ):
            with self._lock:
                if self._end_time is not None:
                    log.warning("Setting attribute on ended span.")
                    return
                bounded._dict.update(attributes)
            return
        super().set_attributes(attributes)

    def end(self, end_time: int | None = None) -> None:
        with self._lock:
            if self._end_time is not None:
                log.warning("Calling end() on an ended span.")
                return
            self._end_time = end_time if end_time is not None else time.time_ns()
            self._attributes._immutable = True  # type: ignore[union-attr]
        self._relay.enqueue(self)


class RelayTracer(trace.Tracer):
    """The SDK tracer, with children of sampled local spans made as RelayedSpans (see `usable` for when it applies)."""

    def __init__(self, tracer: Tracer, relay: SpanRelay) -> None:
        self.sdk, self.relay = tracer, relay
        self.resource, self.scope, self.limits = tracer.resource, tracer._instrumentation_scope, tracer._span_limits
        self.sampler, self.processor = tracer.sampler, tracer.span_processor
        self._span_id = tracer.id_generator.generate_span_id
        self._trace_id = tracer.id_generator.generate_trace_id
        self._random_ids = tracer.id_generator.is_trace_id_random()

    def start_span(  # noqa: PLR0913 - the API's signature
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Any = None,
        links: Sequence[trace.Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        if links or start_time is not None or not (record_exception and set_status_on_exception):
            return self.sdk.start_span(
                name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
            )
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_remote or not parent.is_valid:
            return self._root(name, context, kind, attributes, parent)
        if not parent.trace_flags.sampled:
            return self.sdk.start_span(name, context, kind, attributes)
        flags = FLAGS[parent.trace_flags.random_trace_id]
        span_context = SpanContext(parent.trace_id, self._span_id(), False, flags, parent.trace_state)
        return RelayedSpan(name, span_context, parent, kind, attributes, self)

    def _root(
        self, name: str, context: Context | None, kind: SpanKind, attributes: Any, parent: SpanContext
    ) -> trace.Span:
        """A root span, or the local child of a remote parent: the sampler decides, as in the SDK's start_span."""
        if parent.is_valid:
            trace_id, random_id, parent_context = parent.trace_id, parent.trace_flags.random_trace_id, parent
        else:
            trace_id, random_id, parent_context = self._trace_id(), self._random_ids, None
        result = self.sampler.should_sample(context, trace_id, name, kind, attributes, ())
        flags = TraceFlags((SAMPLED if result.decision.is_sampled() else 0) | (RANDOM if random_id else 0))
        span_context = SpanContext(trace_id, self._span_id(), False, flags, result.trace_state)
        if not result.decision.is_recording():
            return trace.NonRecordingSpan(span_context)
        return RelayedSpan(name, span_context, parent_context, kind, result.attributes, self)

    @_agnosticcontextmanager
    def start_as_current_span(  # noqa: PLR0913 - the API's signature
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Any = None,
        links: Sequence[trace.Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(
            name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
        )
        with trace.use_span(span, end_on_exit, record_exception, set_status_on_exception) as current:
            yield current
