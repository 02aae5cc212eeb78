"""OTLP/HTTP trace exports (protobuf or JSON, optionally gzip) -> the observations they carry.

A span becomes an observation when it names a prompt (`prompter.prompt.name` with `.label`, or `.version_id`: the
attributes prompter_client sets on the active span) and carries a provider-reported identity (`gen_ai.response.model`,
`openai.response.system_fingerprint`, ...) or an error. Every other span is skipped after one pass over its attribute
keys. The observation's id is the span's trace id + span id, so a re-sent export is ingested once."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from service.http.errors import InvalidInput, PrompterError, UnsupportedMediaType
from service.observations.service import ReportedCall
from telemetry import prompt_attributes as a

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_PROMPT_KEYS = frozenset({a.PROMPT_NAME, a.PROMPT_VERSION_ID})
_STATUS_ERROR = 2


class ExportTooLarge(PrompterError):
    status, code = 413, "request_too_large"


@dataclass(frozen=True, slots=True)
class Export:
    calls: list[ReportedCall]
    spans: int  # every span in the export
    skipped: int  # spans that name no prompt or carry neither identity nor error


def media_type(content_type: str | None) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in (PROTOBUF, JSON):
        raise UnsupportedMediaType(
            f"Content-Type {content_type or 'none'!r} is not accepted: OTLP/HTTP sends {PROTOBUF} or {JSON}."
        )
    return kind


def decompress(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        data = body
    elif encoding == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            data = inflater.decompress(body, max_bytes + 1)
        except zlib.error:
            raise InvalidInput("The body is not valid gzip.", code="malformed_otlp") from None
        if not inflater.eof and len(data) <= max_bytes:
            raise InvalidInput("The gzip body is truncated.", code="malformed_otlp")
    else:
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not accepted: send gzip or none.")
    if len(data) > max_bytes:
        raise ExportTooLarge(
            f"The export is larger than {max_bytes} bytes once decompressed (PROMPTER_OBSERVATIONS_MAX_BYTES): "
            "lower the exporter's batch size."
        )
    return data


def parse(data: bytes, kind: str, max_spans: int) -> Export:
    spans = _protobuf_spans(data) if kind == PROTOBUF else _json_spans(data)
    calls: list[ReportedCall] = []
    count = skipped = 0
    for span in spans:
        count += 1
        if count > max_spans:
            raise ExportTooLarge(
                f"The export holds more than {max_spans} spans (PROMPTER_OBSERVATIONS_MAX_ITEMS): lower the "
                "exporter's batch size."
            )
        call = _call(span) if span is not None else None
        if call is None:
            skipped += 1
        else:
            calls.append(call)
    return Export(calls, count, skipped)


def response_body(kind: str, rejected: int, message: str) -> bytes:
    if kind == PROTOBUF:
        response = ExportTraceServiceResponse()
        if rejected:
            response.partial_success.rejected_spans = rejected
            response.partial_success.error_message = message
        return response.SerializeToString()
    body: dict[str, Any] = {}
    if rejected:
        body["partialSuccess"] = {"rejectedSpans": rejected, "errorMessage": message}
    return msgspec.json.encode(body)


# -- span facts: (trace_id hex, span_id hex, start ns, end ns, status code, attributes) or None when skipped early ----
_Span = tuple[str, str, int, int, int, dict[str, Any]]


def _call(span: _Span) -> ReportedCall | None:
    trace_id, span_id, start, end, status, attrs = span
    version_id = _first(attrs, (a.PROMPT_VERSION_ID,))
    name = _first(attrs, (a.PROMPT_NAME,))
    provider = a.PROVIDER_ALIASES.get(str(_first(attrs, a.PROVIDER) or "").lower(), "")
    error = _first(attrs, a.ERROR) or ("error" if status == _STATUS_ERROR else None)
    reported = _reported(provider, attrs)
    if reported is None and error is None:
        return None
    finish = _first(attrs, a.FINISH_REASONS)
    if isinstance(finish, list):
        finish = finish[0] if finish else None
    return ReportedCall(
        obs_id=f"{trace_id}{span_id}",
        provider=provider or "unknown",
        prompt=str(name)[:200] if name is not None else None,
        label=_text(_first(attrs, (a.PROMPT_LABEL,)), 64),
        version_id=version_id if isinstance(version_id, int) and 0 < version_id < 2**63 else None,
        model_id=_text(_first(attrs, a.REQUEST_MODEL), 200),
        reported=reported,
        latency_ms=round((end - start) / 1e6, 3) if end >= start > 0 else None,
        input_tokens=_count(_first(attrs, a.INPUT_TOKENS)),
        output_tokens=_count(_first(attrs, a.OUTPUT_TOKENS)),
        finish_reason=_text(finish, 32),
        error_type=_text(error, 64),
        trace_id=trace_id if len(trace_id) == 32 else None,
        span_id=span_id if len(span_id) == 16 else None,
    )


def _reported(provider: str, attrs: dict[str, Any]) -> dict[str, Any] | None:
    model = _text(_first(attrs, a.RESPONSE_MODEL), 200)
    if provider == "openai":
        fingerprint = _text(_first(attrs, a.SYSTEM_FINGERPRINT), 200)
        if model is None and fingerprint is None:
            return None
        return {"system_fingerprint": fingerprint, "model": model}
    if provider == "google":
        version = _text(_first(attrs, (a.GOOGLE_MODEL_VERSION,)), 200) or model
        return {"modelVersion": version} if version else None
    return {"model": model} if model else None


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in attrs:
            return attrs[key]
    return None


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value and "\x00" not in value else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else None


# -- protobuf ----------------------------------------------------------------------------------------------------------
def _protobuf_spans(data: bytes) -> Iterator[_Span | None]:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except (DecodeError, RuntimeWarning, ValueError):
        raise InvalidInput(
            "The body is not an OTLP ExportTraceServiceRequest (protobuf).", code="malformed_otlp"
        ) from None
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if not any(kv.key in _PROMPT_KEYS for kv in span.attributes):
                    yield None
                    continue
                attrs = {kv.key: _pb_value(kv.value) for kv in span.attributes}
                yield (
                    span.trace_id.hex(),
                    span.span_id.hex(),
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                    span.status.code,
                    attrs,
                )


def _pb_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_pb_value(item) for item in value.array_value.values]
    if kind in ("string_value", "int_value", "double_value", "bool_value"):
        return getattr(value, kind)
    return None


# -- JSON (OTLP/JSON: lowerCamelCase keys, hex ids, 64-bit integers as strings) -----------------------------------------
def _json_spans(data: bytes) -> Iterator[_Span | None]:
    try:
        document = msgspec.json.decode(data)
    except msgspec.DecodeError:
        raise InvalidInput("The body is not JSON.", code="malformed_otlp") from None
    try:
        for resource_spans in _list(document, "resourceSpans"):
            for scope_spans in _list(resource_spans, "scopeSpans"):
                for span in _list(scope_spans, "spans"):
                    yield _json_span(span)
    except (TypeError, ValueError, AttributeError):
        raise InvalidInput(
            "The body is not an OTLP/JSON ExportTraceServiceRequest (resourceSpans[].scopeSpans[].spans[]).",
            code="malformed_otlp",
        ) from None


def _list(parent: Any, key: str) -> list[Any]:
    if not isinstance(parent, dict):
        raise TypeError(key)
    value = parent.get(key, [])
    if not isinstance(value, list):
        raise TypeError(key)
    return value


def _json_span(span: Any) -> _Span | None:
    attributes = _list(span, "attributes")
    if not any(isinstance(kv, dict) and kv.get("key") in _PROMPT_KEYS for kv in attributes):
        return None
    attrs = {kv["key"]: _json_value(kv.get("value")) for kv in attributes if isinstance(kv, dict) and "key" in kv}
    status = span.get("status") or {}
    code = status.get("code", 0) if isinstance(status, dict) else 0
    return (
        _hex(span.get("traceId")),
        _hex(span.get("spanId")),
        int(span.get("startTimeUnixNano") or 0),
        int(span.get("endTimeUnixNano") or 0),
        2 if code in (2, "STATUS_CODE_ERROR") else 0,
        attrs,
    )


def _hex(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    value = value.lower()
    return value if all(ch in "0123456789abcdef" for ch in value) else ""


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        items = value["arrayValue"].get("values", []) if isinstance(value["arrayValue"], dict) else []
        return [_json_value(item) for item in items]
    return None
