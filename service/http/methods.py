"""HEAD answered like GET, and `Allow` headers that list what a path really accepts. One ASGI wrapper around routing.

- Litestar routes HEAD only to handlers declared for HEAD (and refuses HEAD on handlers that return a body), so
  `HEAD /api/prompt-templates/1` was a 405. RFC 9110 §9.3.2: HEAD is GET without the content. The wrapper routes a HEAD
  request as GET and drops the body bytes; the status and headers (Content-Length included) are the GET's.
- Litestar builds a path's automatic OPTIONS answer from the first handler group registered for that path, so
  `OPTIONS /api/prompt-templates` said `Allow: OPTIONS, POST` although GET works too. The wrapper rewrites every
  `Allow` header (OPTIONS 204 and 405 alike) from the app's route table, adding HEAD wherever GET is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute

Scope = dict[str, Any]
Message = dict[str, Any]


def allowed_methods(app: Litestar) -> dict[str, frozenset[str]]:
    """Route template (as routing stores it in `scope["path_template"]`) -> every method some handler accepts."""
    table: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            table.setdefault(route.path_format, set()).update(route.methods)
    return {path: frozenset(_with_head(methods)) for path, methods in table.items()}


def _with_head(methods: Iterable[str]) -> set[str]:
    methods = set(methods)
    return methods | {"HEAD"} if "GET" in methods else methods


class HeadAndAllow:
    def __init__(self, app: Any, allowed: dict[str, frozenset[str]]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        # HEAD is routed on a copy: the server's own scope must keep saying HEAD (uvicorn then expects no body bytes).
        routed = {**scope, "method": "GET"} if head else scope

        async def send_fixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                if any(name.lower() == b"allow" for name, _ in headers):  # most responses have none: passed as they are
                    message = {**message, "headers": self._fix_allow(routed, headers)}
            elif head and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        try:
            await self.app(routed, receive, send_fixed)
        finally:
            if head and "path_template" in routed:  # the outer telemetry wrapper labels the request by it
                scope["path_template"] = routed["path_template"]

    def _fix_allow(self, scope: Scope, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        headers = list(headers)
        index = next((i for i, (name, _) in enumerate(headers) if name.lower() == b"allow"), None)
        if index is None:
            return headers
        methods = {m.strip().upper() for m in headers[index][1].decode("latin-1").split(",") if m.strip()}
        methods |= self.allowed.get(scope.get("path_template") or "", frozenset())
        headers[index] = (b"allow", ", ".join(sorted(_with_head(methods))).encode("latin-1"))
        return headers
