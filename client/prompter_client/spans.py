"""Name the prompt on the application's active OpenTelemetry span (the `otel` extra); without it, nothing happens.

Sets `prompter.prompt.name`, `.label`, `.version_id` and - once the provider answered - the GenAI semantic
conventions' attributes for what it reported (prompter_client/attributes.py), so any tracing backend can group spans
by prompt version and Prompter's OTLP ingest can turn the span into an observation. Never raises."""

from __future__ import annotations

import logging
from typing import Any

from prompter_client import attributes as a

log = logging.getLogger("prompter_client")

try:
    from opentelemetry.trace import get_current_span as _current_span
except ImportError:  # the extra is optional
    _current_span = None  # type: ignore[assignment]

AVAILABLE = _current_span is not None


def span_attributes(
    prompt: Any,
    *,
    provider: str | None,
    model_id: str | None,
    reported: dict[str, Any] | None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    finish_reason: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {a.PROMPT_NAME: prompt.name}
    if prompt.label:
        values[a.PROMPT_LABEL] = prompt.label
    if prompt.version is not None:
        values[a.PROMPT_VERSION_ID] = prompt.version.id
    if provider:
        values[a.GEN_AI_PROVIDER_NAME] = a.PROVIDER_NAMES.get(provider, provider)
    if model_id:
        values[a.GEN_AI_REQUEST_MODEL] = model_id
    reported = reported or {}
    if reported.get("model"):
        values[a.GEN_AI_RESPONSE_MODEL] = reported["model"]
    if reported.get("system_fingerprint"):
        values[a.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = reported["system_fingerprint"]
    if reported.get("modelVersion"):
        values[a.GOOGLE_MODEL_VERSION] = reported["modelVersion"]
        values.setdefault(a.GEN_AI_RESPONSE_MODEL, reported["modelVersion"])
    if input_tokens is not None:
        values[a.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    if output_tokens is not None:
        values[a.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
    if finish_reason:
        values[a.GEN_AI_RESPONSE_FINISH_REASONS] = [finish_reason]
    if error:
        values[a.ERROR_TYPE] = error
    return values


def current_span() -> Any:
    """The active recording span, or None (no OpenTelemetry, no span, or not sampled)."""
    if _current_span is None:
        return None
    span = _current_span()
    return span if span.is_recording() else None


def annotate(span: Any, values: dict[str, Any]) -> None:
    try:
        span.set_attributes(values)
    except Exception:  # noqa: BLE001 - tracing must never fail the application
        log.debug("setting span attributes failed", exc_info=True)


def ids(span: Any) -> tuple[str | None, str | None]:
    try:
        context = span.get_span_context()
        return format(context.trace_id, "032x"), format(context.span_id, "016x")
    except Exception:  # noqa: BLE001
        return None, None


def annotate_current_span(
    prompt: Any, response: Any = None, *, provider: str | None = None, model_id: str | None = None
) -> bool:
    """Name `prompt` (and what `response` reports: identity, usage, finish reason) on the active span, for apps that
    export spans (e.g. to Prompter's /v1/traces) instead of reporting observations. True when a span was annotated."""
    span = current_span()
    if span is None or getattr(prompt, "version", None) is None:
        return False
    from prompter_client.integrations import read

    provider = provider or prompt.version.provider
    reading = read(provider, response) if response is not None else None
    values = span_attributes(
        prompt,
        provider=provider,
        model_id=model_id or prompt.version.model_id,
        reported=reading.reported if reading is not None else None,
        input_tokens=reading.input_tokens if reading is not None else None,
        output_tokens=reading.output_tokens if reading is not None else None,
        finish_reason=reading.finish_reason if reading is not None else None,
    )
    annotate(span, values)
    return True
