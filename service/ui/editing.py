"""Writing prompts from the UI: create one (text or chat, optionally pinned to a version at once), add a revision from
an existing one with a diff preview before it is saved, and pin a version (provider, model, params, bundle).

Nothing here decides what a valid prompt is. A form becomes the body the API would receive, which is read by the API's
own request schemas (TemplateCreate, EnsureVersionRequest) and then handed to the same services the API handlers call
(TemplateService.content / create, VersionService.bundle / ensure). Their errors come back by field, for the page to
show beside it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import msgspec

from service.auth.principal import Principal, TenantScope
from service.db.models import PromptTemplate, PromptVersion
from service.diffs.budget import DiffTooLarge, unified_text
from service.diffs.messages import chat_text
from service.errors import Forbidden, InvalidInput, PrompterError, Unprocessable
from service.http.schemas import generation_params
from service.templates.schemas import TemplateCreate
from service.templates.service import TemplateService
from service.ui import diff
from service.ui.forms import EditorForm, FormError, PinFields, field_of
from service.versions.bundle import Bundle
from service.versions.schemas import EnsureVersionRequest
from service.versions.service import VersionService
from service.vocabulary import PROVIDERS

REVISIONS_OFFERED = 20
PREVIEW_BUDGET = diff.PAIR_BUDGET
EDIT_VERBS = ("add", "add-placeholder", "remove", "up", "down", "type")


@dataclass(slots=True)
class EditorView:
    """What the editor page shows: the form, the errors by field, and (editing) the diff preview."""

    form: EditorForm
    org_id: str
    workspace_id: str
    errors: dict[str, str] = field(default_factory=dict)
    base: PromptTemplate | None = None
    preview: diff.Diff | None = None
    schema_changed: bool = False
    variables_added: list[str] = field(default_factory=list)
    variables_removed: list[str] = field(default_factory=list)
    providers: tuple[str, ...] = PROVIDERS

    @property
    def editing(self) -> bool:
        return self.base is not None


@dataclass(frozen=True, slots=True)
class Saved:
    template: PromptTemplate
    version: PromptVersion | None


@dataclass(slots=True)
class PinView:
    name: str
    org_id: str
    workspace_id: str
    revisions: list[PromptTemplate]
    template_id: int
    pin: PinFields
    errors: dict[str, str] = field(default_factory=dict)
    providers: tuple[str, ...] = PROVIDERS


class Invalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def errors_of(error: PrompterError | FormError | msgspec.ValidationError) -> dict[str, str]:
    if isinstance(error, FormError):
        return {error.field: error.detail}
    if isinstance(error, msgspec.ValidationError):
        text = str(error)
        path = text.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in text else None
        return {field_of(path, "invalid_request"): text.split(" - at `")[0]}
    return {field_of(error.extra.get("path"), error.code): error.detail}


class EditingService:
    def __init__(self, templates: TemplateService, versions: VersionService, principal: Principal | None) -> None:
        self.templates = templates
        self.versions = versions
        self.principal = principal

    def require_write(self) -> None:
        """The forms themselves need a write key (the session guard refuses a read key's POSTs as well)."""
        if self.principal is not None and not self.principal.can_write:
            raise Forbidden(
                "This API key has the `read` role; writing prompts needs a `write` or `admin` key.",
                code="forbidden_role",
            )

    # -- create and edit ---------------------------------------------------------------------------------------------

    def new(self, tenant: TenantScope, form: EditorForm | None = None) -> EditorView:
        self.require_write()
        org_id, workspace_id = tenant.pair()
        return EditorView(form or EditorForm().apply("type:chat"), org_id, workspace_id)

    async def edit(self, name: str, tenant: TenantScope, *, revision: int | None = None) -> EditorView:
        self.require_write()
        revisions = await self.templates.revisions(name, tenant=tenant, limit=REVISIONS_OFFERED)
        base = next((t for t in revisions if t.revision == revision), revisions[0])
        return EditorView(EditorForm.of_template(base), base.org_id, base.workspace_id, base=base)

    async def submit(
        self, form: EditorForm, action: str, tenant: TenantScope, *, name: str | None
    ) -> EditorView | Saved:
        """One press of a button: an editing action re-renders the form; `preview` shows the diff of an edit; `save`
        stores (an edit only once its diff was previewed for exactly this content)."""
        self.require_write()
        view = await self._view(form, tenant, name)
        if action.partition(":")[0] in EDIT_VERBS:
            view.form = form.apply(action)
            return view
        try:
            draft, content_hash, pin = self._checked(view.form)
        except Invalid as invalid:
            view.errors = invalid.errors
            return view
        if view.base is not None:
            if content_hash == view.base.content_hash:
                view.errors = {"form": f"Nothing changed against r{view.base.revision}: edit the prompt first."}
                return view
            if action != "save" or form.previewed != content_hash:
                return self._with_preview(view, draft, content_hash)
        elif action != "save":
            return view
        try:
            template = await self.templates.create(draft.draft(), tenant=tenant)
        except PrompterError as error:
            view.errors = {"form": error.detail} if error.code == "duplicate_template" else errors_of(error)
            return view
        version = await self._pin(template, pin) if pin is not None else None
        return Saved(template, version)

    async def _view(self, form: EditorForm, tenant: TenantScope, name: str | None) -> EditorView:
        if name is None:
            return self.new(tenant, form)
        base = await self.templates.get(form.base_id) if form.base_id else None
        if base is None or base.name != name:
            base = (await self.templates.revisions(name, tenant=tenant, limit=1))[0]
        return EditorView(replace(form, name=name), base.org_id, base.workspace_id, base=base)

    def _checked(self, form: EditorForm) -> tuple[TemplateCreate, str, EnsureVersionRequest | None]:
        """The form read as the API reads a create (and an ensure-version) request, then checked by the services'
        own rules; every problem found, by field (Invalid)."""
        errors: dict[str, str] = {}
        draft: TemplateCreate | None = None
        content_hash = ""
        try:
            draft = msgspec.convert(form.request(), TemplateCreate)
            content = self.templates.content(draft.type, draft.body, draft.messages, draft.input_schema)
            content_hash = content.content_hash
        except CORRECTABLE as error:
            errors.update(errors_of(error))
        pin = None
        if form.pin.wanted:
            try:
                pin = self._pin_request(form.pin)
            except CORRECTABLE as error:
                errors.update(errors_of(error))
        if errors or draft is None:
            raise Invalid(errors or {"form": "The form could not be read."})
        return draft, content_hash, pin

    def _with_preview(self, view: EditorView, draft: TemplateCreate, content_hash: str) -> EditorView:
        base = view.base
        assert base is not None
        new_text = chat_text(draft.messages) if draft.type == "chat" else draft.body or ""
        old_text = chat_text(base.messages) if base.messages else base.body
        try:
            text, _ = unified_text(
                old_text, new_text, fromfile=f"revision {base.revision}", tofile="new revision", budget=PREVIEW_BUDGET
            )
            view.preview = diff.classify(text)
        except DiffTooLarge:
            view.preview = diff.TOO_LARGE
        new_variables = self.templates.content(draft.type, draft.body, draft.messages, draft.input_schema).variables
        view.variables_added = [v for v in new_variables if v not in base.variables]
        view.variables_removed = [v for v in base.variables if v not in new_variables]
        view.schema_changed = (draft.input_schema or None) != (base.input_schema or None)
        view.form = replace(view.form, previewed=content_hash)
        return view

    # -- pin a version -----------------------------------------------------------------------------------------------

    def _pin_request(self, pin: PinFields) -> EnsureVersionRequest:
        request = msgspec.convert(pin.request(), EnsureVersionRequest)
        self.versions.providers.get(request.provider)  # unknown provider: beside its field, before anything is stored
        self.versions.bundle(request.tools, request.tool_choice, request.response_format)
        return request

    async def _pin(self, template: PromptTemplate, request: EnsureVersionRequest) -> PromptVersion:
        """What POST /api/prompt-templates/{id}/ensure-version does with the same body."""
        bundle: Bundle = self.versions.bundle(request.tools, request.tool_choice, request.response_format)
        version, _ = await self.versions.ensure(
            template, request.provider, request.model_id, generation_params(request.params), bundle=bundle
        )
        return version

    async def pin_form(self, name: str, tenant: TenantScope, *, revision: int | None = None) -> PinView:
        self.require_write()
        revisions = await self.templates.revisions(name, tenant=tenant, limit=REVISIONS_OFFERED)
        chosen = next((t for t in revisions if t.revision == revision), revisions[0])
        newest = await self.versions.list_for_templates(revisions)
        start = (
            PinFields.of_bundle(
                newest[0].provider,
                newest[0].model_id,
                newest[0].params,
                newest[0].tools,
                newest[0].tool_choice,
                newest[0].response_format,
            )
            if newest
            else PinFields(provider=PROVIDERS[0])
        )
        return PinView(name, chosen.org_id, chosen.workspace_id, revisions, chosen.id, start)

    async def pin(self, name: str, template_id: int, fields: PinFields, tenant: TenantScope) -> PinView | Saved:
        self.require_write()
        view = await self.pin_form(name, tenant)
        view.pin, view.template_id = fields, template_id
        template = next((t for t in view.revisions if t.id == template_id), None)
        if template is None:
            view.errors = {"template_id": "Choose one of this prompt's revisions."}
            return view
        if not fields.wanted:
            view.errors = {"model_id": "Name the model to pin (for example gpt-4o)."}
            return view
        try:
            request = self._pin_request(fields)
            return Saved(template, await self._pin(template, request))
        except CORRECTABLE as error:  # a provider or the database down stays an error page
            view.errors = errors_of(error)
            return view


# What the person can correct in the form: shown beside the field.
CORRECTABLE = (InvalidInput, Unprocessable, FormError, msgspec.ValidationError)
