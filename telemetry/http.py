"""HTTP telemetry: one ASGI wrapper that records the contract's HTTP metrics and one server span per request.

It wraps the whole Litestar ASGI handler (outside routing), so 404s and 405s are counted too. The route label is the
route template Litestar's router stores in `scope["path_template"]` once it has matched; requests that match no route
(404, 405) share one bounded value. One span per request, named `<METHOD> <route template>` - Litestar's stock
OpenTelemetry plugin makes three per request and names them by raw path. `/metrics` itself is not measured (a scrape
every few seconds would dominate the request counts).

A response the app marks as a standing stream (`scope[STANDING_STREAM]`: an MCP session's GET stream, a
`subscriptions/listen` stream) is counted, but its duration is how long a client stayed connected, not a request's
latency: it is kept out of the duration histogram, so it cannot trip a latency objective.
"""

from __future__ import annotations

import os
import time
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode

from telemetry.contract import UNMATCHED_ROUTE
from telemetry.port import Telemetry, bounded_method

Scope = dict[str, Any]
EXCLUDED_PATHS = frozenset({"/metrics"})
STANDARD_PROPAGATORS = "tracecontext,baggage"  # the SDK's default OTEL_PROPAGATORS
PROPAGATION_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})  # ASGI header names are lowercase
ROOT = Context()
STANDING_STREAM = "prompter.standing_stream"


def _headers_carrier(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}


class HTTPTelemetryMiddleware:
    def __init__(self, app: Any, telemetry: Telemetry, *, tracing: bool) -> None:
        self.app = app
        self.telemetry = telemetry
        self.tracing = tracing
        # With the standard propagators (W3C trace context and baggage), a request without their headers has no
        # context to extract: skip building the header dict and running the propagators.
        self._standard_propagators = os.environ.get("OTEL_PROPAGATORS", STANDARD_PROPAGATORS).replace(" ", "") in {
            STANDARD_PROPAGATORS,
            "tracecontext",
        }

    def _may_carry_context(self, scope: Scope) -> bool:
        if not self._standard_propagators:
            return True
        return any(name in PROPAGATION_HEADERS for name, _ in scope.get("headers", ()))

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.telemetry.enabled or scope.get("path") in EXCLUDED_PATHS:
            await self.app(scope, receive, send)
            return
        method = bounded_method(scope["method"])
        span, token = self._start(scope, method) if self.tracing else (None, None)
        status = 500
        start = time.perf_counter()

        async def send_and_capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if span is not None and not span.is_recording():
            span = None  # sampled out: its context is attached (downstream calls carry the trace id), nothing to end
        try:
            await self.app(scope, receive, send_and_capture)
        except BaseException as exc:
            if span is not None:
                self.telemetry.guard("server span exception", span.record_exception, exc)
            raise
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("path_template") or UNMATCHED_ROUTE
            if span is not None:
                self.telemetry.guard("server span end", _finish, span, method, route, status, scope.get("path", ""))
            if token is not None:
                otel_context.detach(token)
            self.telemetry.record_http(method, route, status, None if scope.get(STANDING_STREAM) else seconds)

    def _start(self, scope: Scope, method: str) -> tuple[trace.Span, Token[Context] | None]:
        # The span is renamed to `<METHOD> <route template>` at the end: the template is known only after routing.
        parent = extract(_headers_carrier(scope)) if self._may_carry_context(scope) else ROOT
        span = self.telemetry.start_span(method, context=parent, kind=SpanKind.SERVER)
        token = self.telemetry.guard("attach server span", otel_context.attach, trace.set_span_in_context(span, parent))
        return span, token


def _finish(span: trace.Span, method: str, route: str, status: int, path: str) -> None:
    span.update_name(f"{method} {route}")
    span.set_attributes(
        {
            "http.request.method": method,
            "http.route": route,
            "url.path": path,
            "http.response.status_code": status,
        }
    )
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()
