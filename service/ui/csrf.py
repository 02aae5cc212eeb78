"""Cross-site request protection for the UI's forms: every state-changing request must come from this site.

Two checks, both on every POST (and any other unsafe method) under /ui:

1. Where it came from. A browser says so itself: `Sec-Fetch-Site` must be `same-origin` (or `none`: typed by the
   user), and `Origin`, when sent, must be this very origin (scheme, host and port as the request arrived; behind a
   proxy the scheme comes from X-Forwarded-Proto, trusted per PROMPTER_FORWARDED_ALLOW_IPS). A sibling subdomain is
   `same-site`, not `same-origin`, and is refused too.
2. A token bound to the session. Each form carries an HMAC of the session's own token (service/ui/sessions.py), so a
   token is worth nothing with any other session: an attacker's own token and cookies, sent along with a victim's
   session cookie, do not match it. Before login (the login form itself, or a UI with PROMPTER_AUTH=off) the token is
   bound to a random pre-login cookie instead.

Refusals raise PermissionDeniedException, which the UI renders as its 403 page. The JSON API is not under /ui and is
not affected: it authenticates with a bearer header a browser never sends on its own.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from service.ui.session import SESSION_COOKIE, UI_PATH
from service.ui.sessions import MAX_TOKEN_CHARS, form_token

PRELOGIN_COOKIE = "prompter_form"
FORM_FIELD = "_csrf_token"
HEADER = "x-csrftoken"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_tuple(scheme: str, host: str, port: int | None) -> tuple[str, str, int | None]:
    return scheme.lower(), host.lower(), port if port is not None else DEFAULT_PORTS.get(scheme.lower())


def cross_site_reason(request: Request[Any, Any, Any]) -> str | None:
    """Why this request did not come from a page of this origin, or None when nothing says it did not."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in SAME_ORIGIN_FETCH:
        return f"Sec-Fetch-Site: {fetch_site}"
    origin = request.headers.get("origin")
    if origin is None:
        return None
    try:
        parts = urlsplit(origin)
        claimed = _origin_tuple(parts.scheme, parts.hostname or "", parts.port)
    except ValueError:
        return "Origin: malformed"
    url = request.url
    own = _origin_tuple(url.scheme, url.hostname or "", url.port)
    return None if claimed == own else f"Origin: {origin[:100]}"


class UIFormProtection:
    """ASGI middleware of the UI router (replaces Litestar's double-submit CSRF middleware, whose token was not bound
    to the session and whose cookie was never Secure)."""

    def __init__(self, app: ASGIApp, secret: str | None = None) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope=scope, receive=receive)
        session_token = request.cookies.get(SESSION_COOKIE) or ""
        prelogin = request.cookies.get(PRELOGIN_COOKIE) or ""
        new_prelogin = None
        if session_token and len(session_token) <= MAX_TOKEN_CHARS:
            binding = f"session:{session_token}"
        else:
            if not prelogin or len(prelogin) > MAX_TOKEN_CHARS:
                prelogin = new_prelogin = secrets.token_urlsafe(32)
            binding = f"prelogin:{prelogin}"
        expected = form_token(binding, self.secret)

        if scope["method"] not in SAFE_METHODS:  # type: ignore[typeddict-item]
            if (reason := cross_site_reason(request)) is not None:
                raise PermissionDeniedException(f"cross-site request refused ({reason})")
            sent = request.headers.get(HEADER)
            if sent is None:
                form = await request.form()  # cached on the scope: the handler reads the same form again
                value = form.get(FORM_FIELD)
                sent = value if isinstance(value, str) else None
            if new_prelogin is not None or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
                raise PermissionDeniedException("form token missing or not this session's")

        ScopeState.from_scope(scope).csrf_token = expected  # what the templates' csrf_token() puts in each form
        if new_prelogin is None:
            await self.app(scope, receive, send)
            return
        cookie = Cookie(
            key=PRELOGIN_COOKIE,
            value=new_prelogin,
            path=UI_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
