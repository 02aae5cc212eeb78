"""The workspace a UI without auth works in. With PROMPTER_AUTH=off nothing names a tenant but the URL, so a typed
address such as /ui/prompts/greet named none and the page was a 422. The picker (/ui/workspace) remembers the chosen
(org, workspace) in a cookie of this browser, and every UI page defaults to it; an org_id/workspace_id in the query
still wins (the links of the cross-workspace list carry them). With auth on the tenant is the key's and no cookie is
read or offered.

A page that needs a workspace and has none sends the browser to the picker, which brings it back afterwards."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from msgspec import Struct

from service.auth.guard import current_principal
from service.auth.principal import TenantScope
from service.http.schemas import NO_NUL, reject_nul
from service.http.tenant import TenantQuery
from service.templates.service import TemplateService
from service.ui.session import UI_PATH, is_tls

WORKSPACE_COOKIE = "prompter_workspace"
MAX_TENANT_CHARS = 64
WORKSPACES_SHOWN = 100


@dataclass(frozen=True, slots=True)
class Workspace:
    org_id: str
    workspace_id: str


def _valid(value: str) -> bool:
    return 1 <= len(value) <= MAX_TENANT_CHARS and "\x00" not in value


def chosen_workspace(connection: ASGIConnection[Any, Any, Any, Any]) -> Workspace | None:
    """The workspace this browser picked (auth off only), or None; a cookie that does not read as one is ignored."""
    if connection.app.state.runtime.settings.auth.required:
        return None
    raw = connection.cookies.get(WORKSPACE_COOKIE)
    if not raw or len(raw) > 8 * MAX_TENANT_CHARS:
        return None
    try:
        pair = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) and _valid(part) for part in pair)):
        return None
    return Workspace(pair[0], pair[1])


def provide_ui_tenant(
    request: Request[Any, Any, Any], org_id: TenantQuery = None, workspace_id: TenantQuery = None
) -> TenantScope:
    """The UI's tenant dependency: the API's rule (service/http/tenant.py), defaulting to the picked workspace."""
    principal = current_principal(request)
    if principal is None and org_id is None and workspace_id is None:
        chosen = chosen_workspace(request)
        if chosen is not None:
            org_id, workspace_id = chosen.org_id, chosen.workspace_id
    return TenantScope(principal, org_id, workspace_id)


def safe_next(target: str) -> str:
    """Only a UI path of this site (never `//host`, never another scheme): the picker must not be an open redirect."""
    if target.startswith(f"{UI_PATH}") and not target.startswith("//") and "\\" not in target:
        return target
    return UI_PATH


def picker_url(request: Request[Any, Any, Any]) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{UI_PATH}/workspace?{urlencode({'next': here})}"


def workspace_cookie(chosen: Workspace | None, *, secure: bool) -> Cookie:
    # base64 of a JSON pair: any tenant id survives the cookie syntax unchanged.
    value = (
        base64.urlsafe_b64encode(json.dumps([chosen.org_id, chosen.workspace_id]).encode()).decode() if chosen else ""
    )
    return Cookie(
        key=WORKSPACE_COOKIE,
        value=value,
        path=UI_PATH,
        httponly=True,
        samesite="strict",
        secure=secure,
        max_age=None if chosen else 0,
    )


class WorkspaceForm(Struct):
    org_id: str = ""
    workspace_id: str = ""
    next: str = UI_PATH
    clear: str = ""  # the "every workspace" button

    def __post_init__(self) -> None:
        reject_nul(org_id=self.org_id, workspace_id=self.workspace_id, next=self.next)


class WorkspaceController(Controller):
    path = "/workspace"
    include_in_schema = False

    @get("/", name="ui:workspace")
    async def picker(
        self,
        request: Request[Any, Any, Any],
        templates: NamedDependency[TemplateService],
        next: Annotated[str, Parameter(max_length=2000, pattern=NO_NUL)] = UI_PATH,  # noqa: A002 - the query's name
    ) -> Template | Redirect:
        if request.app.state.runtime.settings.auth.required:
            return Redirect(UI_PATH, status_code=303)  # the key decides the workspace
        return await picker_page(request, templates, safe_next(next))

    @post("/", status_code=303)
    async def choose(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[WorkspaceForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        templates: NamedDependency[TemplateService],
    ) -> Template | Redirect:
        target = safe_next(data.next)
        secure = is_tls(request)
        if request.app.state.runtime.settings.auth.required:
            return Redirect(UI_PATH, status_code=303)
        if data.clear:
            return Redirect(UI_PATH, status_code=303, cookies=[workspace_cookie(None, secure=secure)])
        org_id, workspace_id = data.org_id.strip(), data.workspace_id.strip()
        if not (_valid(org_id) and _valid(workspace_id)):
            error = f"Fill in both the org and the workspace (1 to {MAX_TENANT_CHARS} characters each)."
            return await picker_page(request, templates, target, error=error, status_code=400)
        cookie = workspace_cookie(Workspace(org_id, workspace_id), secure=secure)
        return Redirect(target, status_code=303, cookies=[cookie])


async def picker_page(
    request: Request[Any, Any, Any],
    templates: TemplateService,
    target: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    return Template(
        template_name="workspace.html",
        context={
            "principal": None,
            "chosen": chosen_workspace(request),
            "workspaces": await templates.workspaces(limit=WORKSPACES_SHOWN),
            "next": target,
            "error": error,
        },
        status_code=status_code,
    )
