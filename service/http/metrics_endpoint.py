"""GET /metrics: the Prometheus exposition of this app's registry (OpenMetrics when the scraper asks for it)."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Callable
from typing import NoReturn

from litestar import Request, Response, get
from litestar.di import NamedDependency
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, generate_latest

from service.errors import Unauthorized
from service.settings import Settings

log = logging.getLogger("prompter.auth")


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics(
    request: Request,
    settings: NamedDependency[Settings],
    metrics_registry: NamedDependency[CollectorRegistry | None],
    metrics_text: NamedDependency[Callable[[], bytes | None]],
) -> Response[bytes]:
    _check_basic_auth(request, settings)
    if metrics_registry is None:
        why = (
            b"# telemetry is off (PROMPTER_TELEMETRY=off or OTEL_SDK_DISABLED=true)\n"
            if not settings.telemetry.enabled
            else b"# metrics are pushed over OTLP, not served here (PROMPTER_METRICS_EXPORT=otlp)\n"
        )
        return Response(why, media_type="text/plain; version=0.0.4; charset=utf-8")
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    if encoder is generate_latest:
        # The plain 0.0.4 text format: the same bytes from the faster writer (telemetry/exposition.py).
        body = metrics_text()
        if body is not None:
            return Response(body, media_type=content_type)
    return Response(encoder(metrics_registry), media_type=content_type)


def _check_basic_auth(request: Request, settings: Settings) -> None:
    user, password = settings.auth.metrics_user, settings.auth.metrics_password
    if not user and not password:
        return
    if not user or not password:
        # Half-configured protection fails closed: an operator who set one of the two meant /metrics to be private.
        _refuse(
            request,
            "metrics_misconfigured",
            "/metrics is misconfigured: set both METRICS_BASIC_AUTH_USER and METRICS_BASIC_AUTH_PASSWORD (or neither).",
        )
    header = request.headers.get("authorization")
    if not header:
        _refuse(request, "metrics_missing", _NEEDS_AUTH)
    scheme, _, encoded = header.partition(" ")
    try:
        if scheme.lower() != "basic":
            raise ValueError(scheme)
        given_user, colon, given_password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        if not colon:
            raise ValueError("no colon")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        _refuse(request, "metrics_malformed", _NEEDS_AUTH)
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    if not (user_ok and password_ok):
        _refuse(request, "metrics_wrong_credentials", _NEEDS_AUTH)


_NEEDS_AUTH = "/metrics requires HTTP basic auth (METRICS_BASIC_AUTH_USER / METRICS_BASIC_AUTH_PASSWORD)."


def _refuse(request: Request, reason: str, detail: str) -> NoReturn:
    """Counted in prompter_auth_failure_total{reason} (a fixed set of `metrics_*` values) and logged with the reason
    and the client address; never with the credentials that were sent."""
    request.app.state.runtime.telemetry.record_auth_failure(reason)
    client = request.client.host if request.client else None
    log.warning("metrics auth refused", extra={"reason": reason, "route": "/metrics", "client": client})
    raise Unauthorized(detail, headers={"WWW-Authenticate": 'Basic realm="metrics"'})
