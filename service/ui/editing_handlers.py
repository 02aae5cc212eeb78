"""The editor's pages: new prompt, new revision (with its diff preview), pin a version. Thin: read the form, call the
EditingService once, render the page or redirect to what was saved."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.response import Redirect, Template

from service.auth.principal import TenantScope
from service.db.transactions import READS_FIRST
from service.errors import InvalidInput
from service.http.schemas import nul_path
from service.labels.handlers import Name
from service.ui.editing import EditingService, EditorView, PinView
from service.ui.forms import EditorForm, PinFields
from service.ui.handlers import page

Revision = Annotated[int | None, Parameter(ge=1, le=2**31 - 1)]


async def form_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted form, one value per field (the last one), refused with a 400 page if any value holds a NUL."""
    fields = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    for key, value in fields.items():
        if nul_path(key) is not None or nul_path(value) is not None:
            raise InvalidInput(f"The form field `{key[:40]}` contains a NUL character; remove it.", code="invalid_form")
    return fields


def prompt_url(name: str, org_id: str, workspace_id: str, request: Request[Any, Any, Any], anchor: str = "") -> str:
    """The prompt page after a save (with auth off the tenant travels in the URL, as in every UI link)."""
    query = (
        ""
        if request.app.state.runtime.settings.auth.required
        else "?" + urlencode({"org_id": org_id, "workspace_id": workspace_id})
    )
    return f"/ui/prompts/{quote(name, safe='')}{query}{anchor}"


def editor_page(request: Request[Any, Any, Any], view: EditorView) -> Template:
    status = 422 if view.errors else 200
    return page(request, "editor.html", status_code=status, view=view)


class EditingController(Controller):
    path = "/"
    include_in_schema = False

    @get("/new", name="ui:new")
    async def new_prompt(
        self,
        request: Request[Any, Any, Any],
        editing: NamedDependency[EditingService],
        tenant: NamedDependency[TenantScope],
    ) -> Template:
        return editor_page(request, editing.new(tenant))

    @post("/new", status_code=200)
    async def create_prompt(
        self,
        request: Request[Any, Any, Any],
        editing: NamedDependency[EditingService],
        tenant: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        fields = await form_fields(request)
        outcome = await editing.submit(EditorForm.of(fields), fields.get("action", "save"), tenant, name=None)
        if isinstance(outcome, EditorView):
            return editor_page(request, outcome)
        saved = outcome.template
        anchor = "#versions" if outcome.version else f"#revision-{saved.revision}"
        return Redirect(prompt_url(saved.name, saved.org_id, saved.workspace_id, request, anchor), status_code=303)

    @get("/prompts/{name:str}/edit", name="ui:edit")
    async def edit_prompt(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        editing: NamedDependency[EditingService],
        tenant: NamedDependency[TenantScope],
        revision: Revision = None,
    ) -> Template:
        return editor_page(request, await editing.edit(name, tenant, revision=revision))

    @post("/prompts/{name:str}/edit", status_code=200)
    async def add_revision(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        editing: NamedDependency[EditingService],
        tenant: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        fields = await form_fields(request)
        outcome = await editing.submit(EditorForm.of(fields), fields.get("action", "preview"), tenant, name=name)
        if isinstance(outcome, EditorView):
            return editor_page(request, outcome)
        saved = outcome.template
        anchor = f"#revision-{saved.revision}"
        return Redirect(prompt_url(saved.name, saved.org_id, saved.workspace_id, request, anchor), status_code=303)

    @get("/prompts/{name:str}/pin", name="ui:pin")
    async def pin_form(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        editing: NamedDependency[EditingService],
        tenant: NamedDependency[TenantScope],
        revision: Revision = None,
    ) -> Template:
        return page(request, "pin.html", view=await editing.pin_form(name, tenant, revision=revision))

    @post("/prompts/{name:str}/pin", status_code=200, opt={READS_FIRST: True})
    async def pin_version(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        editing: NamedDependency[EditingService],
        tenant: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        fields = await form_fields(request)
        template_id = fields.get("template_id", "")
        chosen = int(template_id) if template_id.isdigit() and len(template_id) < 19 else 0
        outcome = await editing.pin(name, chosen, PinFields.of(fields), tenant)
        if isinstance(outcome, PinView):
            return page(request, "pin.html", status_code=422, view=outcome)
        saved, version = outcome.template, outcome.version
        anchor = f"#version-{version.id}" if version else "#versions"
        return Redirect(prompt_url(name, saved.org_id, saved.workspace_id, request, anchor), status_code=303)
