"""GET /metrics: the Prometheus exposition of this app's registry (OpenMetrics when the scraper asks for it)."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable

from litestar import Request, Response, get
from litestar.di import NamedDependency
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, generate_latest

from service.http.errors import Unauthorized
from service.settings import Settings


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
        raise Unauthorized(
            "/metrics is misconfigured: set both METRICS_BASIC_AUTH_USER and METRICS_BASIC_AUTH_PASSWORD (or neither).",
            headers={"WWW-Authenticate": 'Basic realm="metrics"'},
        )
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    given_user, given_password = "", ""
    if scheme.lower() == "basic":
        try:
            given_user, _, given_password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            pass
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    if not (user_ok and password_ok):
        raise Unauthorized(
            "/metrics requires HTTP basic auth (METRICS_BASIC_AUTH_USER / METRICS_BASIC_AUTH_PASSWORD).",
            headers={"WWW-Authenticate": 'Basic realm="metrics"'},
        )
