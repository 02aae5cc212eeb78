"""The web UI at /ui: server-rendered pages (Jinja), plain forms, one stylesheet, no scripts."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request, Router
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from sqlalchemy.ext.asyncio import AsyncSession

from service.archive.service import RetireService
from service.auth.guard import current_principal
from service.auth.service import KeyService
from service.labels.service import LabelService
from service.runs.service import RunService
from service.settings import Settings
from service.templates.service import TemplateService
from service.ui.csrf import UIFormProtection
from service.ui.diff import DiffCache
from service.ui.editing import EditingService
from service.ui.editing_handlers import EditingController
from service.ui.errors import EXCEPTION_HANDLERS
from service.ui.handlers import UIController
from service.ui.login_limits import LoginLimiter
from service.ui.playground import PlaygroundService
from service.ui.playground_handlers import PlaygroundController
from service.ui.retire import RetireUIController
from service.ui.security import RESPONSE_HEADERS
from service.ui.service import UIService, identity_of, trace_link
from service.ui.session import UI_PATH, ui_session_guard
from service.ui.sessions import UISessionStore
from service.ui.workspace import WorkspaceController, chosen_workspace, provide_ui_tenant
from service.versions.service import VersionService
from telemetry import Telemetry

HERE = Path(__file__).parent


def template_config(settings: Settings) -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is HTML-escaped unless a template says otherwise (none does)
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    environment.filters["path"] = lambda value: quote(str(value), safe="")
    environment.globals["identity_of"] = identity_of
    environment.globals["auth_required"] = settings.auth.required
    environment.globals["chosen_workspace"] = chosen_workspace
    environment.globals["tenant_query"] = lambda org, ws, **more: _tenant_query(settings, org, ws, **more)
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment))


def ui_routers(settings: Settings, telemetry: Telemetry) -> list[Router]:
    diffs = DiffCache()  # one per app: revision ids are only unique within one database

    def provide_ui(
        session: NamedDependency[AsyncSession],
        templates: NamedDependency[TemplateService],
        versions: NamedDependency[VersionService],
        runs: NamedDependency[RunService],
        labels: NamedDependency[LabelService],
        retire: NamedDependency[RetireService],
    ) -> UIService:
        return UIService(
            templates=templates,
            versions=versions,
            runs=runs,
            labels=labels,
            keys=KeyService(session),
            settings=settings,
            telemetry=telemetry,
            diffs=diffs,
            retire=retire,
        )

    def provide_editing(
        request: Request[Any, Any, Any],
        templates: NamedDependency[TemplateService],
        versions: NamedDependency[VersionService],
    ) -> EditingService:
        return EditingService(templates, versions, current_principal(request))

    def provide_playground(
        templates: NamedDependency[TemplateService],
        labels: NamedDependency[LabelService],
        runs: NamedDependency[RunService],
    ) -> PlaygroundService:
        return PlaygroundService(templates, labels, runs, partial(trace_link, settings))

    def provide_ui_sessions(session: NamedDependency[AsyncSession]) -> UISessionStore:
        return UISessionStore(session)

    limiter = LoginLimiter(max_failures=settings.ui.login_max_failures, window_s=settings.ui.login_window_s)

    pages = Router(
        path=UI_PATH,
        route_handlers=[UIController, RetireUIController, WorkspaceController, EditingController, PlaygroundController],
        dependencies={
            "tenant": Provide(provide_ui_tenant, sync_to_thread=False),
            "ui": Provide(provide_ui, sync_to_thread=False),
            "editing": Provide(provide_editing, sync_to_thread=False),
            "playground": Provide(provide_playground, sync_to_thread=False),
            "ui_sessions": Provide(provide_ui_sessions, sync_to_thread=False),
            "login_limiter": Provide(lambda: limiter, use_cache=True, sync_to_thread=False),
        },
        guards=[ui_session_guard],
        middleware=[DefineMiddleware(UIFormProtection, secret=settings.ui.secret)],
        exception_handlers=EXCEPTION_HANDLERS,
        response_headers=RESPONSE_HEADERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=f"{UI_PATH}/static", directories=[HERE / "static"], name="ui:static", include_in_schema=False
    )
    return [pages, static]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "–"


def _tenant_query(settings: Settings, org_id: str, workspace_id: str, **more: Any) -> str:
    """The query string a link needs: with auth off the tenant travels in the URL, with auth on it is the key's."""
    params = {} if settings.auth.required else {"org_id": org_id, "workspace_id": workspace_id}
    params.update({key: value for key, value in more.items() if value})
    return "?" + urlencode(params) if params else ""
