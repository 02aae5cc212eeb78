"""W3C trace context on outgoing requests, when opentelemetry-api is installed (the `otel` extra); else nothing.

The global propagator is used, so whatever the application configured (tracecontext + baggage by default) is sent.
"""

from __future__ import annotations

import logging

log = logging.getLogger("prompter_client")

try:
    from opentelemetry.propagate import inject as _inject
except ImportError:  # the extra is optional: no OpenTelemetry, no headers
    _inject = None  # type: ignore[assignment]


def trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`, baggage) of the current span; {} outside a span. Never raises."""
    if _inject is None:
        return {}
    carrier: dict[str, str] = {}
    try:
        _inject(carrier)
    except Exception:  # noqa: BLE001 - tracing must never fail a request
        log.debug("trace context injection failed", exc_info=True)
        return {}
    return carrier
