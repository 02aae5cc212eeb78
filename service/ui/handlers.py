"""The UI's pages and forms. Thin: parse the query or form, call one UIService function, render a template."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, Parameter
from litestar.response import Redirect, Template
from msgspec import Struct

from service.auth.guard import current_principal
from service.http.schemas import NO_NUL
from service.ui.service import UIService
from service.ui.session import PUBLIC, cleared_session_cookie, session_cookie

TenantParam = Annotated[str | None, Parameter(max_length=64, pattern=NO_NUL)]


class LoginForm(Struct):
    api_key: str = ""


def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=template,
        context={"principal": current_principal(request), **context},
        status_code=status_code,
    )


def is_tls(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https"


class UIController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", name="ui:prompts")
    async def prompts(
        self,
        request: Request[Any, Any, Any],
        ui: NamedDependency[UIService],
        q: Annotated[str, Parameter(max_length=200, pattern=NO_NUL)] = "",
        after: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
        org_id: TenantParam = None,
        workspace_id: TenantParam = None,
    ) -> Template:
        listing = await ui.prompt_list(search=q, after=after, org_id=org_id, workspace_id=workspace_id)
        return page(request, "prompts.html", listing=listing)

    @get("/prompts/{name:str}", name="ui:prompt")
    async def prompt(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        ui: NamedDependency[UIService],
        org_id: TenantParam = None,
        workspace_id: TenantParam = None,
    ) -> Template:
        return page(request, "prompt.html", view=await ui.prompt(name, org_id=org_id, workspace_id=workspace_id))

    @get("/results", name="ui:results")
    async def results(
        self,
        request: Request[Any, Any, Any],
        ui: NamedDependency[UIService],
        prompt: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        org_id: TenantParam = None,
        workspace_id: TenantParam = None,
    ) -> Template:
        prompt = prompt or None
        listing = await ui.results(name=prompt, org_id=org_id, workspace_id=workspace_id, cursor=cursor)
        return page(request, "results.html", listing=listing, prompt=prompt or "")

    @get("/results/{result_id:int}", name="ui:result")
    async def result(
        self, request: Request[Any, Any, Any], result_id: FromPath[int], ui: NamedDependency[UIService]
    ) -> Template:
        return page(request, "result.html", view=await ui.result(result_id))

    @get("/login", name="ui:login", opt={PUBLIC: True})
    async def login_form(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        if not request.app.state.runtime.settings.auth_required:
            return Redirect("/ui")
        return page(request, "login.html", error=None)

    @post("/login", opt={PUBLIC: True}, status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        ui: NamedDependency[UIService],
    ) -> Redirect:
        await ui.login(data.api_key)
        return Redirect("/ui", status_code=303, cookies=[session_cookie(data.api_key.strip(), secure=is_tls(request))])

    @post("/logout", opt={PUBLIC: True}, status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        return Redirect("/ui/login", status_code=303, cookies=[cleared_session_cookie(secure=is_tls(request))])
