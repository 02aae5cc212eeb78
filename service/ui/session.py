"""The UI's login session: a random token in an HttpOnly, SameSite=Strict cookie scoped to /ui, `Secure` whenever the
request came over HTTPS, and mapped to an API key by the database (service/ui/sessions.py), never the key itself.

Each page looks the session up together with its key, so logout (which deletes the session), expiry and revoking the
key all take effect on the very next request, on every replica.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler

from service.auth.guard import PRINCIPAL_STATE_KEY, READ_METHODS
from service.db import engine as db
from service.errors import Forbidden
from service.ui.sessions import UISessionStore

log = logging.getLogger("prompter.auth")

SESSION_COOKIE = "prompter_session"
UI_PATH = "/ui"
PUBLIC = "ui_public"  # route opt: reachable without a session (the login form itself)


class LoginRequired(Exception):
    """No valid session: the UI answers with a redirect to the login form (and drops a stale cookie)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_tls(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """HTTPS as this process sees it: directly, or via X-Forwarded-Proto from a peer in PROMPTER_FORWARDED_ALLOW_IPS."""
    return connection.url.scheme == "https"


async def ui_session_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """With PROMPTER_AUTH=required every UI page needs a live session; the key's tenant and role then apply
    exactly as for the API (the principal lands where the API's services look for it)."""
    runtime = connection.app.state.runtime
    if handler.opt.get(PUBLIC) or not runtime.settings.auth.required:
        return
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired("missing")
    try:
        # A read session: on SQLite a write session would queue every page behind the single write lock.
        async with runtime.read_sessions() as session:
            found = await UISessionStore(session).find(token)
    except Exception as exc:
        if db.is_unavailable(exc):
            raise db.unavailable_because(exc) from exc
        raise
    if found.principal is None:
        if found.reason != "expired":
            runtime.telemetry.record_auth_failure(found.reason)
        log.warning(
            "ui session refused", extra={"reason": found.reason, "route": connection.scope.get("path_template")}
        )
        raise LoginRequired(found.reason)
    if connection.scope["method"] not in READ_METHODS and not found.principal.can_write:  # type: ignore[typeddict-item]
        runtime.telemetry.record_auth_failure("read_only_key")
        raise Forbidden(
            "This API key has the `read` role; this endpoint needs a `write` or `admin` key.", code="forbidden_role"
        )
    connection.state[PRINCIPAL_STATE_KEY] = found.principal


def session_cookie(token: str, *, secure: bool) -> Cookie:
    # No max_age: a browser-session cookie, gone when the browser closes (the server-side row expires on its own).
    return Cookie(key=SESSION_COOKIE, value=token, path=UI_PATH, httponly=True, samesite="strict", secure=secure)


def cleared_session_cookie(*, secure: bool) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE, value="", path=UI_PATH, httponly=True, samesite="strict", secure=secure, max_age=0
    )
