"""The telemetry port: what domain code calls to say *what happened*. It never touches the SDK itself.

Every recording is failure-proof: an exception inside a meter or tracer is swallowed, counted in `recording_errors`
and logged once, so a broken telemetry pipeline can never fail a request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import Meter
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OPERATION_NAME,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_TOKEN_TYPE,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)
from opentelemetry.semconv._incubating.attributes.openai_attributes import OPENAI_RESPONSE_SYSTEM_FINGERPRINT
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from telemetry import contract as c
from telemetry.cells import CounterCell, HistogramCell, Key, SdkCounter, key_of
from telemetry.child_spans import unrecorded_child
from telemetry.labels import LabelBounds

# The (model id, tenant) of the ensure-version step in progress, if any: what a successful probe admits.
_PINNING: ContextVar[tuple[str, tuple[str, str] | None] | None] = ContextVar("prompter_pinning", default=None)

log = logging.getLogger("prompter.telemetry")


class LLMCall:
    """Handle given to the code around an LLM call, to report what the provider answered."""

    __slots__ = ("_telemetry", "error_type", "input_tokens", "output_tokens", "response_model", "span")

    def __init__(self, span: trace.Span, telemetry: Telemetry) -> None:
        self.span = span
        self.response_model: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.error_type: str | None = None
        self._telemetry = telemetry

    def set_response(
        self, *, model: str | None, input_tokens: int, output_tokens: int, system_fingerprint: str | None = None
    ) -> None:
        self.response_model, self.input_tokens, self.output_tokens = model, input_tokens, output_tokens
        if not self.span.is_recording():
            return
        attributes: dict[str, Any] = {
            GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
            GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
        }
        if model:
            attributes[GEN_AI_RESPONSE_MODEL] = model
        if system_fingerprint:
            attributes[OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = system_fingerprint
        self._telemetry.guard("llm span attributes", self.span.set_attributes, attributes)

    def set_content(self, prompt: str, output: str) -> None:
        """Prompt and output text go on the span only when PROMPTER_TRACE_CONTENT is on (they are customer data)."""
        if not self._telemetry.capture_content or not self.span.is_recording():
            return
        self._telemetry.guard(
            "llm span content",
            self.span.set_attributes,
            {
                GEN_AI_INPUT_MESSAGES: prompt,
                GEN_AI_OUTPUT_MESSAGES: output,
            },
        )


class EnsureVersionStep:
    """Handle given to the code inside `Telemetry.ensure_version`, to report how the step ended."""

    __slots__ = ("_span", "_telemetry")

    def __init__(self, span: trace.Span, telemetry: Telemetry) -> None:
        self._span, self._telemetry = span, telemetry

    def outcome(self, *, created: bool, drift: bool) -> None:
        # Admission first: it decides metric labels, so it must happen whether or not the span records.
        self._telemetry.guard("model label admission", self._telemetry.admit_pinned)
        if not self._span.is_recording():
            return
        attributes = {"prompter.version.created": created, "prompter.version.drift": drift}
        self._telemetry.guard("ensure-version span attributes", self._span.set_attributes, attributes)


def bounded_method(method: str) -> str:
    """The `method` label: the standard methods by name, anything else (PROPFIND, BREW, lowercase) as OTHER."""
    return method if method in c.HTTP_METHODS else "OTHER"


class Telemetry:
    """Metrics and spans for one app. `Telemetry.disabled()` does nothing at all (PROMPTER_TELEMETRY=off)."""

    def __init__(
        self,
        meter: Meter | None,
        tracer: Tracer | None,
        *,
        capture_content: bool = False,
        labels: LabelBounds | None = None,
        cells: bool = False,
    ) -> None:
        """`cells`: counters and histograms are kept as plain cells (telemetry/cells.py) that the caller attaches to
        the meter provider's readers; otherwise every recording is an SDK measurement on `meter`."""
        self.enabled = meter is not None
        self.tracing = tracer is not None
        self.tracer = tracer or trace.NoOpTracer()
        self.capture_content = capture_content
        self.recording_errors = 0
        self.labels = labels or LabelBounds()
        self._instruments: dict[str, Any] = {}
        self._started_models: set[tuple[str, str]] = set()  # bounded by LabelBounds
        self._cells: list[CounterCell | HistogramCell] = []
        if meter is not None:
            for instrument in c.CONTRACT:
                if cells and instrument.kind == "counter":
                    cell: Any = CounterCell(instrument)
                elif cells and instrument.kind == "histogram":
                    cell = HistogramCell(instrument)
                else:
                    self._instruments[instrument.key] = SdkCounter(_create(meter, instrument))
                    continue
                self._instruments[instrument.key] = cell
                self._cells.append(cell)
            self._initialise_counters()

    def cells(self) -> list[CounterCell | HistogramCell]:
        """The cells a collection adds to the SDK's data (telemetry.cells.attach)."""
        return self._cells

    @classmethod
    def disabled(cls) -> Telemetry:
        return cls(None, None)

    def _initialise_counters(self) -> None:
        """Start series at 0 so they exist from the first scrape: `increase()` then sees the first event, and a ratio
        such as failures / attempts reads 0 rather than "no data". Counters without labels start now, the unique
        violations of the tables known to be guarded too; a (provider, model_id) pair's failure and drift counters start
        with its first probe attempt - their label values cannot be known before."""
        for instrument in c.CONTRACT:
            if instrument.kind == "counter" and not instrument.labels:
                self._record(instrument.key, "add", 0)
        for table in c.DB_UNIQUE_TABLES:
            self._record("db_unique_violation", "add", 0, {"table": table})
        for protected in ("true", "false"):
            for kind in c.LABEL_MOVE_KINDS:
                self._record("label_moves", "add", 0, {"protected": protected, "kind": kind})
        for provider in sorted(self.labels.providers):
            self._record("label_drift", "add", 0, {"provider": provider})
            self._record("response_schema_violations", "add", 0, {"provider": provider})
        for source in c.OBSERVATION_SOURCES:
            for fate in c.OBSERVATION_FATES:
                self._record("observations", "add", 0, {"source": source, "fate": fate})
        for outcome in c.WEBHOOK_OUTCOMES:
            self._record("webhook_deliveries", "add", 0, {"outcome": outcome})
        for label in sorted(self.labels.label_names | {c.OTHER}):
            for action in c.ROLLOUT_ACTIONS:
                self._record("rollout_decisions", "add", 0, {"label": label, "action": action})
            for provider in sorted(self.labels.providers):
                for outcome in c.LABEL_CALL_OUTCOMES:
                    self._record("label_calls", "add", 0, {"label": label, "provider": provider, "outcome": outcome})

    # -- failure-proof plumbing -------------------------------------------------------------------------------------
    def _record(self, key: str, method: str, value: float, attributes: dict[str, Any] | None = None) -> None:
        self._put(key, method, value, key_of(attributes))

    def _put(self, key: str, method: str, value: float, labels: Key = ()) -> None:
        """`_record` with the labels as (name, value) items: no dict to build and copy on the request path."""
        instrument = self._instruments.get(key)
        if instrument is None:
            return
        try:
            getattr(instrument, method)(value, labels)
        except Exception as exc:  # noqa: BLE001 - a broken meter must never fail a request
            self.count_failure(key, exc)

    def guard(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call a tracing/metrics SDK function; a failure is counted and logged, never raised."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a broken tracer must never fail a request
            self.count_failure(what, exc)
            return None

    def count_failure(self, what: str, exc: BaseException | None = None) -> None:
        self.recording_errors += 1
        if self.recording_errors == 1:
            log.warning(
                "telemetry recording failed (%s); requests continue, further failures are counted", what, exc_info=exc
            )

    # -- HTTP (called by the middleware) ----------------------------------------------------------------------------
    def record_http(self, method: str, route: str, status: int, seconds: float | None) -> None:
        """`seconds=None`: a standing stream, counted but not a latency (telemetry/http.py)."""
        labels = (("method", bounded_method(method)), ("route", route))
        self._put("http_requests", "add", 1, (*labels, ("status", str(status))))
        if seconds is not None:
            self._put("http_duration", "record", seconds, labels)

    # -- domain events ----------------------------------------------------------------------------------------------
    def record_db_unique(self, table: str) -> None:
        self._record("db_unique_violation", "add", 1, {"table": table})

    def record_result_insert(self, *, fingerprint_present: bool) -> None:
        self._put("results_insert", "add", 1)
        if fingerprint_present:
            self._put("fingerprint_present", "add", 1)

    def set_redis_up(self, up: bool) -> None:
        self._record("redis_up", "set", 1 if up else 0)

    def record_probe_attempt(self, provider: str, model_id: str) -> None:
        labels = self._model_labels(provider, model_id)
        self._record("probe_attempt", "add", 1, labels)
        self._start_model_series(labels)

    def record_model_answered(self, provider: str, model_id: str) -> None:
        """A run's provider call answered: the model's failure and drift series start at 0 (once), as with a probe."""
        self._start_model_series(self._model_labels(provider, model_id))

    def _start_model_series(self, labels: dict[str, str]) -> None:
        pair = (labels["provider"], labels["model_id"])
        if pair not in self._started_models:
            self._started_models.add(pair)
            self._record("probe_failure", "add", 0, labels)
            self._record("model_drift", "add", 0, labels)

    @contextmanager
    def probe(self, provider: str, model_id: str) -> Iterator[None]:
        """The `prompter.probe` span around one identity probe. The attempt (and a failure) is counted when the probe
        ends, so an id the provider has just answered for is already labelled by name (telemetry/labels.py)."""
        with self.span("prompter.probe", **{GEN_AI_PROVIDER_NAME: provider, GEN_AI_REQUEST_MODEL: model_id}):
            try:
                yield
            except Exception:
                self.record_probe_attempt(provider, model_id)
                self.record_probe_failure(provider, model_id)
                raise
            self.guard("model label admission", self.admit_pinned)  # the provider reported the identity to pin
            self.record_probe_attempt(provider, model_id)

    def record_probe_failure(self, provider: str, model_id: str) -> None:
        self._record("probe_failure", "add", 1, self._model_labels(provider, model_id))

    def record_cache_hit(self) -> None:
        self._record("cache_hit", "add", 1)

    def record_cache_miss(self) -> None:
        self._record("cache_miss", "add", 1)

    def record_model_drift(self, provider: str, model_id: str) -> None:
        self._record("model_drift", "add", 1, self._model_labels(provider, model_id))

    def record_auth_failure(self, reason: str) -> None:
        """`reason` is one of `contract.AUTH_FAILURE_REASONS`; anything else is recorded as `other` (bounded)."""
        self._record("auth_failure", "add", 1, {"reason": reason if reason in c.AUTH_FAILURE_REASONS else c.OTHER})

    def record_label_move(self, *, protected: bool, kind: str) -> None:
        """`kind` is one of contract.LABEL_MOVE_KINDS."""
        self._record("label_moves", "add", 1, {"protected": "true" if protected else "false", "kind": kind})

    def record_label_drift(self, provider: str) -> None:
        self._record("label_drift", "add", 1, {"provider": self.labels.provider(provider)})

    def record_response_schema_violation(self, provider: str) -> None:
        self._record("response_schema_violations", "add", 1, {"provider": self.labels.provider(provider)})

    def record_observations(self, source: str, *, accepted: int, duplicate: int, rejected: int) -> None:
        """One ingested batch: `source` is one of contract.OBSERVATION_SOURCES."""
        for fate, count in (("accepted", accepted), ("duplicate", duplicate), ("rejected", rejected)):
            if count:
                self._record("observations", "add", count, {"source": source, "fate": fate})

    def record_label_call(self, label: str | None, provider: str, *, seconds: float | None, error: bool) -> None:
        """A provider call through a label (a run, or an accepted observation). The label name is bounded by
        PROMPTER_METRIC_LABELS (telemetry/labels.py); prompt names and version ids are never metric labels."""
        self.record_label_calls(
            label,
            provider,
            ok=0 if error else 1,
            error=1 if error else 0,
            seconds=(() if seconds is None else (seconds,)),
        )

    def record_label_calls(
        self, label: str | None, provider: str, *, ok: int, error: int, seconds: Iterable[float] = ()
    ) -> None:
        """Many calls of one (label, provider) at once (an observations batch): one counter add per outcome."""
        bounded = {"label": self.labels.label(label), "provider": self.labels.provider(provider)}
        if ok:
            self._record("label_calls", "add", ok, {**bounded, "outcome": "ok"})
        if error:
            self._record("label_calls", "add", error, {**bounded, "outcome": "error"})
        for value in seconds:
            self._record("label_call_duration", "record", value, bounded)

    def record_split_calls(
        self,
        label: str | None,
        variant: int,
        *,
        ok: int,
        error: int,
        seconds: Iterable[float] = (),
        drift: int = 0,
    ) -> None:
        """Calls through one arm of a split label: counters only (a few series per arm)."""
        arm = str(variant) if 0 <= variant < len(c.SPLIT_VARIANTS) else c.OTHER
        bounded = {"label": self.labels.label(label), "variant": arm}
        # Both outcomes, even a 0: an arm's error ratio then reads 0, not "no data", before its first error.
        self._record("split_calls", "add", ok, {**bounded, "outcome": "ok"})
        self._record("split_calls", "add", error, {**bounded, "outcome": "error"})
        timed = list(seconds)
        if timed:
            self._record("split_call_seconds", "add", sum(timed), bounded)
            self._record("split_timed_calls", "add", len(timed), bounded)
        if drift:
            self._record("split_drift", "add", drift, bounded)

    def record_rollout(self, label: str, *, weight: int, action: str | None = None) -> None:
        """A rollout analysis: the canary's weight now, and the decision when it made one (one of ROLLOUT_ACTIONS)."""
        bounded = self.labels.label(label)
        self._record("rollout_canary_weight", "set", weight, {"label": bounded})
        if action is not None:
            self._record("rollout_decisions", "add", 1, {"label": bounded, "action": action})

    def record_webhook_delivery(self, outcome: str, seconds: float) -> None:
        """One delivery attempt: `outcome` is one of contract.WEBHOOK_OUTCOMES (anything else counts as
        connection_error, so the label stays bounded)."""
        labels: Key = (("outcome", outcome if outcome in c.WEBHOOK_OUTCOMES else "connection_error"),)
        self._put("webhook_deliveries", "add", 1, labels)
        self._put("webhook_delivery_duration", "record", seconds, labels)

    def set_webhook_outbox_lag(self, seconds: float) -> None:
        self._record("webhook_outbox_lag", "set", max(0.0, seconds))

    def _model_labels(self, provider: str, model_id: str) -> dict[str, str]:
        return {"provider": self.labels.provider(provider), "model_id": self.labels.model_id(model_id)}

    @contextmanager
    def ensure_version(
        self, template_id: int, provider: str, model_id: str, tenant: tuple[str, str] | None = None
    ) -> Iterator[EnsureVersionStep]:
        """The ensure-version step, explicit or inside a run: span `prompter.ensure_version` (with the GenAI provider and
        model attributes) and the histogram prompter_ensure_version_seconds{provider}, failures included."""
        attributes = {
            "prompter.template_id": template_id,
            GEN_AI_PROVIDER_NAME: provider,
            GEN_AI_REQUEST_MODEL: model_id,
        }
        token = _PINNING.set((model_id, tenant))
        try:
            with self.ensure_version_timer(provider), self.span("prompter.ensure_version", **attributes) as span:
                yield EnsureVersionStep(span, self)
        finally:
            _PINNING.reset(token)

    def admit_pinned(self) -> None:
        """Inside ensure_version, once the provider reported what the version pins: its model id may take a label slot
        (telemetry/labels.py). A model id only typed by a client never does."""
        pinning = _PINNING.get()
        if pinning is not None:
            self.labels.admit_model(*pinning)

    @contextmanager
    def ensure_version_timer(self, provider: str) -> Iterator[None]:
        """Times ensure-version (histogram prompter_ensure_version_seconds{provider}), failures included."""
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self._put("ensure_version", "record", seconds, (("provider", self.labels.provider(provider)),))

    # -- spans ------------------------------------------------------------------------------------------------------
    def start_span(
        self,
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: dict[str, Any] | None = None,
        context: Any = None,
    ) -> trace.Span:
        """Start a span; if the tracer fails, a non-recording span stands in (counted, never raised). Under a local
        parent that is not recorded (sampled out) the child is a non-recording span in its context, without the SDK."""
        if context is None:
            unrecorded = unrecorded_child()
            if unrecorded is not None and unrecorded is not trace.INVALID_SPAN:
                return unrecorded
        span = self.guard(
            f"start span {name}", self.tracer.start_span, name, context=context, kind=kind, attributes=attributes
        )
        return span if span is not None else trace.INVALID_SPAN

    @contextmanager
    def span(self, name: str, **attributes: Any) -> Iterator[trace.Span]:
        """A domain-step span (`prompter.ensure_version`, `prompter.probe`); exceptions mark it as an error."""
        span = self.start_span(name, attributes=_clean(attributes))
        if _changes_nothing(span):  # sampled out, or tracing off: no context to attach, nothing to end
            yield span
            return
        with trace.use_span(span, end_on_exit=True):
            yield span

    @contextmanager
    def llm_call(self, provider: str, request_model: str, operation: str = "chat") -> Iterator[LLMCall]:
        """The LLM call per the GenAI conventions: span `chat <model>` plus duration and token-usage histograms."""
        start = time.perf_counter()
        span = self.start_span(
            f"{operation} {request_model}",
            kind=SpanKind.CLIENT,
            attributes={
                GEN_AI_OPERATION_NAME: operation,
                GEN_AI_PROVIDER_NAME: provider,
                GEN_AI_REQUEST_MODEL: request_model,
            },
        )
        call = LLMCall(span, self)
        scope = nullcontext() if _changes_nothing(span) else trace.use_span(span, True, set_status_on_exception=False)
        with scope:
            try:
                yield call
            except BaseException as exc:
                call.error_type = getattr(exc, "code", None) or type(exc).__name__
                if span.is_recording():
                    self.guard("llm span error", _mark_error, span, call.error_type)
                raise
            finally:
                self._record_genai(provider, request_model, operation, call, time.perf_counter() - start)

    def _record_genai(self, provider: str, request_model: str, operation: str, call: LLMCall, seconds: float) -> None:
        labels: Key = (
            (GEN_AI_OPERATION_NAME, operation),
            (GEN_AI_PROVIDER_NAME, self.labels.provider(provider)),
            (GEN_AI_REQUEST_MODEL, self.labels.model_id(request_model)),
        )
        if call.response_model:
            if call.error_type is None:
                # The model the provider itself reported answering with (a dated build, say) takes a label slot like
                # a pinned one, in the caller's share while a version is being pinned (telemetry/labels.py).
                pinning = _PINNING.get()
                self.labels.admit_model(call.response_model, pinning[1] if pinning is not None else None)
            labels += ((GEN_AI_RESPONSE_MODEL, self.labels.model_id(call.response_model)),)
        if call.error_type:
            labels += ((ERROR_TYPE, call.error_type),)
        self._put("genai_duration", "record", seconds, labels)
        for token_type, count in (("input", call.input_tokens), ("output", call.output_tokens)):
            if count is not None:
                self._put("genai_tokens", "record", count, (*labels, (GEN_AI_TOKEN_TYPE, token_type)))

    @staticmethod
    def current_trace_id() -> str | None:
        """The W3C trace id (32 hex) of the active span, or None when tracing is off."""
        context = trace.get_current_span().get_span_context()
        return format(context.trace_id, "032x") if context.is_valid else None


def _create(meter: Meter, instrument: c.Instrument) -> Any:
    if instrument.kind == "counter":
        return meter.create_counter(instrument.otel_name, unit=instrument.unit, description=instrument.description)
    if instrument.kind == "histogram":
        return meter.create_histogram(
            instrument.otel_name,
            unit=instrument.unit,
            description=instrument.description,
            explicit_bucket_boundaries_advisory=list(instrument.buckets or ()),
        )
    return meter.create_gauge(instrument.otel_name, unit=instrument.unit, description=instrument.description)


def _mark_error(span: trace.Span, error_type: str) -> None:
    span.set_attribute(ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, error_type))


def _changes_nothing(span: trace.Span) -> bool:
    """A span that does not record and carries the current span's context (the stand-in under a sampled-out parent,
    or INVALID_SPAN with tracing off): making it current would change nothing, and ending it does nothing."""
    return not span.is_recording() and span.get_span_context() == trace.get_current_span().get_span_context()


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if value is not None}
