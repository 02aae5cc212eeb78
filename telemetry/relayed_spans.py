"""SQL statement spans made straight into the span relay's queue, without building an SDK span for each.

A statement span is the simplest span there is: never current (nothing runs under it), no events, no links, the same
attributes for every execution of a statement text, ended right after the cursor returns, and at most an error status.
The SDK still pays for it what it pays for any span - sampler, SpanContext, a lock, BoundedAttributes that validate
every attribute again, two bounded lists, a ReadableSpan copy at the end - about 25 µs. When the span relay is the
only span processor (it exports what is queued and nothing else looks at a span) and the sampler would answer
"record and sample, nothing added" for any child of a sampled local parent (parent-based or always-on sampling),
`StatementSpans` makes the same span as a plain tuple instead: the provider's id generator and span limits, the parent's
trace flags and state, `time.time_ns()` for both ends. The exported span is the SDK's, field for field (tested).
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Tracer
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, StaticSampler
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from telemetry.span_relay import SpanRelay

CLIENT = SpanKind.CLIENT.value
SAMPLED = TraceFlags.SAMPLED
SAMPLED_RANDOM = TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID
UNSET, ERROR = StatusCode.UNSET.value, StatusCode.ERROR.value


def _always_samples(sampler: Any) -> bool:
    return isinstance(sampler, StaticSampler) and sampler._decision is Decision.RECORD_AND_SAMPLE


def usable(tracer: Any, relay: SpanRelay | None) -> bool:
    """Whether a child of a sampled local parent made by this tracer would be a plain sampled span exported only by
    `relay` - so a relayed statement span is exactly what the SDK would have exported."""
    if relay is None or not isinstance(tracer, Tracer):
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
