"""The MCP server: the official SDK's low-level `Server` with the prompts primitive (prompts/list, prompts/get and
`notifications/prompts/list_changed`), served by its Streamable HTTP session manager in stateful mode (a session's
standing GET stream is where list_changed goes).

Each request reads in its own read-only unit of work, as the tenant the HTTP layer authenticated
(service/mcp/handlers.py puts it into the ASGI scope). Prompter's errors become MCP errors: a client mistake (unknown
prompt, missing argument, bad cursor) is INVALID_PARAMS with the detail as message and `{"error": code, ...}` as data.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import ListenHandler, PromptsListChanged, ServerEvent
from mcp.shared.exceptions import MCPError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import __version__
from service.auth.principal import TenantScope
from service.db import engine as db
from service.db.transactions import unit_of_work
from service.errors import DependencyUnavailable, PrompterError
from service.http import draining
from service.labels.service import LabelService
from service.mcp.feed import PromptFeed
from service.mcp.service import McpPromptService, PromptEntry, RenderedPrompt
from service.mcp.streams import StandingStreams
from service.settings import Settings
from service.templates.service import TemplateService
from telemetry import Telemetry

log = logging.getLogger("prompter.mcp")

# Where the HTTP layer leaves the request's TenantScope in the ASGI scope (read back from ctx.request.scope).
TENANT_SCOPE_KEY = "prompter.mcp.tenant"
SERVER_NAME = "prompter"
ORIGINAL_ROLE_META = "prompter/role"
INSTRUCTIONS = (
    "Prompter's prompt registry for this workspace. `name` resolves through the production label, `name@label` "
    "through another label, `name@latest` the newest pinned revision."
)


@dataclass(frozen=True, slots=True)
class McpDependencies:
    settings: Settings
    telemetry: Telemetry
    read_sessions: async_sessionmaker[AsyncSession]
    feed: PromptFeed


class _PromptServer(Server[Any]):
    """The session manager builds every session's initialize answer from the defaults: advertise prompts.listChanged."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(prompts_changed=True), experimental_capabilities, extensions
        )


class PromptMcpServer:
    """One per app: the SDK server, its session manager (run inside the app's lifespan) and the change feed."""

    def __init__(self, deps: McpDependencies) -> None:
        self.deps = deps
        self.server = _PromptServer(
            SERVER_NAME,
            version=__version__,
            title="Prompter",
            instructions=INSTRUCTIONS,
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
            on_subscriptions_listen=self._listen,
        )
        self.server.middleware.append(self._subscribe_on_initialized)
        self.manager: StreamableHTTPSessionManager | None = None
        self.streams = StandingStreams()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve sessions while the app runs. A session manager runs once, so each app start gets a new one."""
        settings = self.deps.settings
        manager = StreamableHTTPSessionManager(
            app=self.server,
            max_request_body_size=settings.limits.max_body_bytes,
            session_idle_timeout=settings.mcp.session_idle_s,
            max_sessions=settings.mcp.max_sessions,
        )
        try:
            async with manager.run():
                self.manager = manager
                self.streams.start()
                try:
                    yield
                finally:
                    self.manager = None
                    self.streams.stop()
        finally:
            await self.deps.feed.aclose()

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        manager = self.manager
        if manager is None:
            raise DependencyUnavailable(
                "The MCP server is not running (the app is starting or stopping); retry shortly.",
                code="mcp_unavailable",
                headers={"Retry-After": "2"},
            )
        if scope.get("method") == "GET":  # a session's standing stream
            await self.streams.serve(manager.handle_request, scope, receive, send)
        else:
            await manager.handle_request(scope, receive, send)

    # -- prompts ---------------------------------------------------------------------------------------------------
    async def _list_prompts(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        tenant = _tenant_of(ctx)
        async with self._prompts(tenant) as prompts:
            page = await prompts.list_page(tenant=tenant, cursor=params.cursor if params else None)
        return types.ListPromptsResult(prompts=[_prompt(entry) for entry in page.entries], next_cursor=page.next_cursor)

    async def _get_prompt(
        self, ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        tenant = _tenant_of(ctx)
        async with self._prompts(tenant) as prompts:
            rendered = await prompts.get(params.name, dict(params.arguments or {}), tenant=tenant)
        return _result(rendered)

    @asynccontextmanager
    async def _prompts(self, tenant: TenantScope) -> AsyncIterator[McpPromptService]:
        principal = tenant.principal
        deps = self.deps
        try:
            async with unit_of_work(deps.read_sessions, None, writes_first=False) as session:
                templates = TemplateService(session, deps.telemetry, deps.settings, principal)
                protected = deps.settings.auth.protected_label_set
                labels = LabelService(session, deps.telemetry, protected, principal)
                yield McpPromptService(templates, labels)
        except PrompterError as error:
            raise _mcp_error(error) from None
        except Exception as error:
            if db.is_unavailable(error):
                raise _mcp_error(db.unavailable_because(error)) from None
            raise

    # -- list_changed ----------------------------------------------------------------------------------------------
    async def _listen(
        self, ctx: ServerRequestContext[Any, Any], params: types.SubscriptionsListenRequestParams
    ) -> types.SubscriptionsListenResult:
        """The 2026-07-28 protocol's way: the client opens a `subscriptions/listen` stream instead of a GET stream."""
        tenant = _tenant_of(ctx).resolve()
        if draining.active():
            raise MCPError(types.INTERNAL_ERROR, "This server is stopping: listen again (another replica answers).")
        handler = ListenHandler(_WorkspaceBus(self.deps.feed, tenant.org_id, tenant.workspace_id))
        remove = self.streams.add_closer(handler.close)
        try:
            return await handler(ctx, params)
        finally:
            remove()

    async def _subscribe_on_initialized(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method == "notifications/initialized" and ctx.request_id is None:
            self._subscribe(ctx)
        return result

    def _subscribe(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """Tell this session about every committed change of its workspace's prompts, until the session ends."""
        tenant = _tenant_of(ctx).resolve()
        # The connection's teardown unsubscribes it, however the session ends (DELETE, idle timeout, shutdown). The
        # SDK exposes the connection to handlers only through the session so far (its Context rework will add
        # `ctx.connection`).
        connection = getattr(ctx.session, "_connection", None)
        if connection is None:
            log.warning("MCP session without a connection handle: list_changed is not sent to it")
            return
        session = ctx.session
        notify: Callable[[], Awaitable[None]] = session.send_prompt_list_changed
        unsubscribe = self.deps.feed.subscribe(tenant.org_id, tenant.workspace_id, notify)
        connection.exit_stack.callback(unsubscribe)


class _WorkspaceBus:
    """The SDK's SubscriptionBus over the prompt feed, for one workspace: a listen stream hears only its own."""

    def __init__(self, feed: PromptFeed, org_id: str, workspace_id: str) -> None:
        self.feed = feed
        self.workspace = (org_id, workspace_id)

    async def publish(self, event: ServerEvent) -> None:
        raise NotImplementedError("events come from the prompt feed (committed PromptListChanged)")

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        async def notify() -> None:
            listener(PromptsListChanged())

        return self.feed.subscribe(*self.workspace, notify)


def _tenant_of(ctx: ServerRequestContext[Any, Any]) -> TenantScope:
    request = ctx.request
    tenant = getattr(request, "scope", {}).get(TENANT_SCOPE_KEY) if request is not None else None
    if not isinstance(tenant, TenantScope):
        raise MCPError(types.INTERNAL_ERROR, "The request reached the MCP server without a tenant.")
    return tenant


def _mcp_error(error: PrompterError) -> MCPError:
    code = types.INTERNAL_ERROR if isinstance(error, DependencyUnavailable) else types.INVALID_PARAMS
    return MCPError(code, error.detail, {"error": error.code, **error.extra})


def _prompt(entry: PromptEntry) -> types.Prompt:
    return types.Prompt(
        name=entry.mcp_name,
        title=f"{entry.name} ({entry.label})",
        description=entry.description,
        arguments=[
            types.PromptArgument(name=a.name, description=a.description, required=a.required) for a in entry.arguments
        ],
        _meta={"prompter/name": entry.name, "prompter/label": entry.label},
    )


def _result(rendered: RenderedPrompt) -> types.GetPromptResult:
    messages = []
    for message in rendered.messages:
        meta = {ORIGINAL_ROLE_META: message.original_role} if message.original_role != message.role else None
        content = types.TextContent(text=message.text, _meta=meta)
        messages.append(types.PromptMessage(role=message.role, content=content))  # type: ignore[arg-type]
    return types.GetPromptResult(
        description=rendered.entry.description,
        messages=messages,
        _meta={"prompter/version_id": rendered.version_id, "prompter/revision": rendered.revision},
    )
