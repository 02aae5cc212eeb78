"""/mcp: the MCP server (service/mcp/server.py) mounted into the app as an ASGI route, behind the API's own keys.

The guard runs before the SDK sees the request, so a missing or bad key is the API's 401 JSON (`unauthorized`, with
`WWW-Authenticate`), an `ingest` key the API's 403, and with PROMPTER_AUTH=off a request without `org_id` and
`workspace_id` in the query the API's 422 `missing_tenant`. A `read` key suffices: the server only reads.

The SDK ties each session to the identity that opened it (`scope["user"]`): here the key, or the tenant with auth off.
A request for a session with another key answers 404 as if the session did not exist.
"""

from __future__ import annotations

from typing import Any

from litestar import asgi
from litestar.connection import ASGIConnection
from litestar.handlers import ASGIRouteHandler
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Receive, Scope, Send
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from service.auth.guard import authenticate
from service.auth.principal import TenantScope
from service.errors import InvalidInput
from service.mcp.server import TENANT_SCOPE_KEY, PromptMcpServer
from telemetry.http import STANDING_STREAM

MCP_PATH = "/mcp"
TENANT_ID_MAX = 64
# The 2026-07-28 protocol names each request's method in a header; a listen request's response is a standing stream.
MCP_METHOD_HEADER = "mcp-method"
LISTEN = "subscriptions/listen"


async def mcp_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    # Routing leaves a mount's template unset; the HTTP metrics and spans name the route by it (telemetry/http.py).
    connection.scope["path_template"] = MCP_PATH
    runtime = connection.app.state.runtime
    org_id = _tenant_param(connection, "org_id")
    workspace_id = _tenant_param(connection, "workspace_id")
    principal = None
    if runtime.settings.auth.required:
        principal = await authenticate(connection, connection.headers.get("authorization"), reads_only=True)
    scope = TenantScope(principal, org_id, workspace_id)
    tenant = scope.resolve()  # 422 missing_tenant with auth off and no tenant named; 403 naming another one
    connection.scope[TENANT_SCOPE_KEY] = TenantScope(principal, tenant.org_id, tenant.workspace_id)  # type: ignore[literal-required]
    owner = principal.key_id if principal is not None else f"tenant:{tenant.org_id}\x1f{tenant.workspace_id}"
    connection.scope["user"] = AuthenticatedUser(AccessToken(token="", client_id=owner, scopes=[]))
    if connection.scope.get("method") == "GET" or connection.headers.get(MCP_METHOD_HEADER) == LISTEN:
        # Measured as a request, but its duration is a client's connection time, not a latency (telemetry/http.py).
        connection.scope[STANDING_STREAM] = True  # type: ignore[literal-required]


def _tenant_param(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> str | None:
    value = connection.query_params.get(name)
    if value is None:
        return None
    if not 1 <= len(value) <= TENANT_ID_MAX or "\x00" in value:
        raise InvalidInput(
            f"{name} must be 1 to {TENANT_ID_MAX} characters without NUL (in the /mcp URL's query).",
            code="invalid_request",
        )
    return value


def mcp_route(server: PromptMcpServer) -> ASGIRouteHandler:
    # copy_scope: the SDK gets its own copy of the scope (made after the guard, so it carries the tenant and user).
    @asgi(MCP_PATH, is_mount=True, copy_scope=True, guards=[mcp_guard])
    async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await server.handle(scope, receive, send)

    return mcp_endpoint
