"""The app-wide guard: with PROMPTER_AUTH=required every /api/* request carries a valid key of the right role."""

from __future__ import annotations

import logging
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from service.auth.principal import Principal
from service.auth.service import AuthFailure, KeyService
from service.db import engine as db
from service.errors import Forbidden

log = logging.getLogger("prompter.auth")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRINCIPAL_STATE_KEY = "principal"
# A route handler's `opt` flag: it ingests observations. Such a route takes `write`, `admin` and `ingest` keys (and
# needs a key even outside /api/, e.g. OTLP's /v1/traces); every other route refuses an `ingest` key.
INGEST = "prompter_ingest"


async def api_key_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    runtime = connection.app.state.runtime
    ingest = bool(handler.opt.get(INGEST))
    if not runtime.settings.auth.required or not (ingest or connection.url.path.startswith("/api/")):
        return
    await authenticate(connection, connection.headers.get("authorization"), ingest=ingest)


async def authenticate(
    connection: ASGIConnection[Any, Any, Any, Any],
    authorization: str | None,
    *,
    ingest: bool = False,
    reads_only: bool = False,
) -> Principal:
    """Check the key and its role for this request's method, and remember the principal on the connection.

    Shared by the API (Authorization header), the UI (the key kept in its session cookie) and the MCP server
    (`reads_only`: it only reads, whatever the method - every MCP message is a POST - so a `read` key suffices)."""
    runtime = connection.app.state.runtime
    try:
        # A read session: the key lookup only reads, and on SQLite a write session would BEGIN IMMEDIATE, making every
        # authenticated GET queue for the database's single write lock behind running writes.
        async with runtime.read_sessions() as session:
            principal = await KeyService(session).authenticate(authorization)
    except AuthFailure as failure:
        _refuse(runtime, connection, failure.reason)
        raise
    except Exception as exc:
        if db.is_unavailable(exc):
            raise db.unavailable_because(exc) from exc
        raise
    if ingest:
        if not principal.can_ingest:
            _refuse(runtime, connection, "read_only_key")
            raise Forbidden(
                "This API key has the `read` role; reporting observations needs an `ingest`, `write` or `admin` key.",
                code="forbidden_role",
            )
    elif principal.ingest_only:
        _refuse(runtime, connection, "ingest_only_key")
        raise Forbidden(
            "This API key has the `ingest` role: it may only report observations (POST /api/observations, "
            "POST /v1/traces). Use a `read` or `write` key here.",
            code="forbidden_role",
        )
    elif not reads_only and _method(connection) not in READ_METHODS and not principal.can_write:
        _refuse(runtime, connection, "read_only_key")
        raise Forbidden(
            "This API key has the `read` role; this endpoint needs a `write` or `admin` key.", code="forbidden_role"
        )
    connection.state[PRINCIPAL_STATE_KEY] = principal
    return principal


def _method(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    # The guard runs on HTTP routes only; Litestar types the scope as HTTP-or-WebSocket, and only HTTP has a method.
    return str(connection.scope.get("method", ""))


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    return connection.state.get(PRINCIPAL_STATE_KEY)


def _refuse(runtime: Any, connection: ASGIConnection[Any, Any, Any, Any], reason: str) -> None:
    runtime.telemetry.record_auth_failure(reason)
    # The key itself is never logged: only the reason, the method and the route template.
    log.warning(
        "auth refused",
        extra={"reason": reason, "method": _method(connection), "route": connection.scope.get("path_template")},
    )
