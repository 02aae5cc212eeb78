"""The UI's pages and forms. Thin: parse the query or form, call one UIService function, render a template."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, Parameter
from litestar.response import Redirect, Template
from msgspec import Struct

from service.archive.service import RetireService
from service.auth.guard import current_principal
from service.auth.principal import TenantScope
from service.http.schemas import NO_NUL, reject_nul
from service.labels.handlers import Label, Name
from service.ui.login_limits import LoginLimiter
from service.ui.retire import retire_view
from service.ui.service import UIService
from service.ui.session import PUBLIC, SESSION_COOKIE, cleared_session_cookie, is_tls, session_cookie
from service.ui.sessions import UISessionStore


class LoginForm(Struct):
    api_key: str = ""


class MoveForm(Struct):
    label: str = ""
    version_id: int = 0
    reason: str = ""

    def __post_init__(self) -> None:
        reject_nul(label=self.label, reason=self.reason)  # the API's rule: PostgreSQL cannot store a NUL


class RollbackForm(Struct):
    reason: str = ""

    def __post_init__(self) -> None:
        reject_nul(reason=self.reason)


def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=template,
        context={"principal": current_principal(request), **context},
        status_code=status_code,
    )


def back_to_prompt(request: Request[Any, Any, Any], name: str) -> Redirect:
    """Post/redirect/get: after a change the browser shows the prompt page again (its labels and history)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return Redirect(f"/ui/prompts/{quote(name, safe='')}{query}#labels", status_code=303)


class UIController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", name="ui:prompts")
    async def prompts(
        self,
        request: Request[Any, Any, Any],
        ui: NamedDependency[UIService],
        tenant: NamedDependency[TenantScope],
        q: Annotated[str, Parameter(max_length=200, pattern=NO_NUL)] = "",
        after: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
        include_archived: Annotated[bool, Parameter(description="Also show archived prompts.")] = False,
        deleted: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
    ) -> Template:
        listing = await ui.prompt_list(search=q, after=after, tenant=tenant, include_archived=include_archived)
        return page(request, "prompts.html", listing=listing, deleted=deleted)

    @get("/prompts/{name:str}", name="ui:prompt")
    async def prompt(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        ui: NamedDependency[UIService],
        retire: NamedDependency[RetireService],
        tenant: NamedDependency[TenantScope],
        include_archived: Annotated[bool, Parameter(description="Also show archived prompts.")] = False,
    ) -> Template:
        view = await ui.prompt(name, tenant=tenant, include_archived=include_archived)
        retiring = await retire_view(retire, name, tenant=tenant, include_archived=include_archived)
        return page(request, "prompt.html", view=view, retire=retiring)

    @get("/results", name="ui:results")
    async def results(
        self,
        request: Request[Any, Any, Any],
        ui: NamedDependency[UIService],
        tenant: NamedDependency[TenantScope],
        prompt: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
        label: Annotated[str | None, Parameter(max_length=64, pattern=NO_NUL)] = None,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> Template:
        listing = await ui.results(name=prompt or None, label=label or None, tenant=tenant, cursor=cursor)
        return page(request, "results.html", listing=listing, prompt=prompt or "", label=label or "")

    @post("/prompts/{name:str}/labels", status_code=303)
    async def move_label(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        data: Annotated[MoveForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        ui: NamedDependency[UIService],
        tenant: NamedDependency[TenantScope],
    ) -> Redirect:
        await ui.move_label(name, data.label, data.version_id, reason=data.reason, tenant=tenant)
        return back_to_prompt(request, name)

    @post("/prompts/{name:str}/labels/{label:str}/rollback", status_code=303)
    async def roll_back_label(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        label: Label,
        data: Annotated[RollbackForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        ui: NamedDependency[UIService],
        tenant: NamedDependency[TenantScope],
    ) -> Redirect:
        await ui.roll_back_label(name, label, reason=data.reason, tenant=tenant)
        return back_to_prompt(request, name)

    @get("/results/{result_id:int}", name="ui:result")
    async def result(
        self, request: Request[Any, Any, Any], result_id: FromPath[int], ui: NamedDependency[UIService]
    ) -> Template:
        return page(request, "result.html", view=await ui.result(result_id))

    @get("/login", name="ui:login", opt={PUBLIC: True})
    async def login_form(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        if not request.app.state.runtime.settings.auth.required:
            return Redirect("/ui")
        return page(request, "login.html", error=None)

    @post("/login", opt={PUBLIC: True}, status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        ui: NamedDependency[UIService],
        ui_sessions: NamedDependency[UISessionStore],
        login_limiter: NamedDependency[LoginLimiter],
    ) -> Redirect:
        with login_limiter.attempt(request.client.host if request.client else "", data.api_key):
            principal = await ui.login(data.api_key)
        await ui_sessions.close(request.cookies.get(SESSION_COOKIE, ""))  # a login replaces this browser's session
        token = await ui_sessions.open(principal.key_id, request.app.state.runtime.settings.ui.session_ttl_s)
        return Redirect("/ui", status_code=303, cookies=[session_cookie(token, secure=is_tls(request))])

    @post("/logout", opt={PUBLIC: True}, status_code=303)
    async def logout(self, request: Request[Any, Any, Any], ui_sessions: NamedDependency[UISessionStore]) -> Redirect:
        await ui_sessions.close(request.cookies.get(SESSION_COOKIE, ""))
        return Redirect("/ui/login", status_code=303, cookies=[cleared_session_cookie(secure=is_tls(request))])
