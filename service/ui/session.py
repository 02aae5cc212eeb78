"""The UI's login session: the API key, asked for once, kept in an HttpOnly SameSite=Strict cookie scoped to /ui.

The cookie holds the key itself, not a server-side session id: every replica can check it without shared session
state, a revoked key stops working on the next page (it is looked up on every request, as for the API), and page
scripts cannot read it (HttpOnly; the UI ships no scripts at all). Logout deletes the cookie; revoking the key ends
every session that used it.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler

from service.auth.guard import authenticate
from service.auth.service import AuthFailure

SESSION_COOKIE = "prompter_session"
UI_PATH = "/ui"
PUBLIC = "ui_public"  # route opt: reachable without a session (the login form itself)


class LoginRequired(Exception):
    """No valid session: the UI answers with a redirect to the login form (and drops a stale cookie)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def ui_session_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """With PROMPTER_AUTH=required every UI page needs the session cookie; the key's tenant and role then apply
    exactly as for the API (the principal lands where the API's services look for it)."""
    if handler.opt.get(PUBLIC) or not connection.app.state.runtime.settings.auth.required:
        return
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired("missing")
    try:
        await authenticate(connection, f"Bearer {token}")
    except AuthFailure as failure:
        raise LoginRequired(failure.reason) from None


def session_cookie(token: str, *, secure: bool) -> Cookie:
    # No max_age: a browser-session cookie, gone when the browser closes.
    return Cookie(key=SESSION_COOKIE, value=token, path=UI_PATH, httponly=True, samesite="strict", secure=secure)


def cleared_session_cookie(*, secure: bool) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE, value="", path=UI_PATH, httponly=True, samesite="strict", secure=secure, max_age=0
    )
