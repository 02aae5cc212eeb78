"""The playground: run one prompt - through a label, a pinned version, or a revision with a provider, model and bundle
of one's choosing - with variables typed in a form, and see what came back; or run the same variables against two of
them side by side.

Every run is the run service's own (RunService.run / run_label, the fake LLM unless providers are configured), stored
as a result whose `source` is `playground`. Variables get one field each, typed by the revision's input_schema; the
values are checked by the same rules as an API run, whose errors come back beside their fields."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from service.auth.principal import TenantScope
from service.db.models import PromptResult, PromptTemplate, PromptVersion
from service.errors import InvalidInput, NotFound, ProviderError
from service.labels.schemas import LabelOut
from service.labels.service import LabelService
from service.providers.base import GenerationParams
from service.runs.schemas import RunRequest
from service.runs.service import PLAYGROUND_SOURCE, RunCommand, RunService
from service.templates.chat import placeholder_names
from service.templates.service import TemplateService
from service.ui.editing import CORRECTABLE
from service.ui.forms import FormError, PinFields
from service.ui.service import identity_of
from service.ui.variables import VariableField, field_for, parse_values, variable_errors
from service.versions.bundle import Bundle
from service.vocabulary import PROVIDERS

REVISIONS_OFFERED = 20
SIDES = ("a", "b")


@dataclass(frozen=True, slots=True)
class Choice:
    """What one side runs: `label:<label>`, `version:<id>` or `revision:<template id>` (with its own pin fields)."""

    kind: str
    ref: str
    pin: PinFields = field(default_factory=PinFields)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.ref}"

    @classmethod
    def parse(cls, value: str, pin: PinFields | None = None) -> Choice | None:
        kind, _, ref = value.partition(":")
        if kind not in ("label", "version", "revision") or not ref or len(ref) > 64:
            return None
        if kind != "label" and not (ref.isdigit() and len(ref) < 19):
            return None
        return cls(kind, ref, pin or PinFields())


@dataclass(frozen=True, slots=True)
class Outcome:
    side: str
    title: str
    result: PromptResult
    template: PromptTemplate
    trace_link: str | None
    identity: str  # what the provider reported, as the version it pinned to holds it


@dataclass(slots=True)
class PlaygroundView:
    name: str
    org_id: str
    workspace_id: str
    revisions: list[PromptTemplate]
    labels: list[LabelOut]
    versions: list[tuple[PromptVersion, int]]
    sides: dict[str, Choice | None]
    fields: list[VariableField]
    errors: dict[str, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    providers: tuple[str, ...] = PROVIDERS

    @property
    def choices(self) -> list[tuple[str, str]]:
        """Every runnable thing of this prompt, as (value, text) for the pickers."""
        out = [
            (
                f"label:{label.label}",
                f"label {label.label} → #{label.version_id} · r{label.revision} · {label.provider} · {label.model_id}",
            )
            for label in self.labels
        ]
        out += [
            (f"version:{v.id}", f"version #{v.id} · r{revision} · {v.provider} · {v.model_id}")
            for v, revision in self.versions
        ]
        out += [(f"revision:{t.id}", f"r{t.revision} with the model below") for t in self.revisions]
        return out


class PlaygroundService:
    def __init__(
        self,
        templates: TemplateService,
        labels: LabelService,
        runs: RunService,
        trace_link: Any,
    ) -> None:
        self.templates = templates
        self.labels = labels
        self.runs = runs
        self.trace_link = trace_link  # UIService.trace_link: the configured trace URL for a trace id

    async def page(
        self,
        name: str,
        tenant: TenantScope,
        sides: dict[str, Choice | None],
        values: dict[str, str] | None = None,
        result_ids: list[int] | None = None,
    ) -> PlaygroundView:
        revisions = await self.templates.revisions(name, tenant=tenant, limit=REVISIONS_OFFERED)
        found_in = TenantScope(self.labels.principal, revisions[0].org_id, revisions[0].workspace_id)
        labels = [
            LabelOut.of(target, label, protected=self.labels.is_protected(label))
            for target, label in await self.labels.list(name, tenant=found_in)
        ]
        numbers = {t.id: t.revision for t in revisions}
        versions = await self.runs.versions.list_for_templates(revisions)
        view = PlaygroundView(
            name,
            revisions[0].org_id,
            revisions[0].workspace_id,
            revisions,
            labels,
            [(v, numbers.get(v.template_id, 0)) for v in versions],
            {},
            [],
        )
        view.sides = {side: choice for side, choice in sides.items() if choice and self._offered(view, choice)}
        if "a" not in view.sides:
            view.sides["a"] = self._default(view)
        outcomes = [await self._stored(view, side, rid) for side, rid in zip(SIDES, result_ids or [], strict=False)]
        view.outcomes = [o for o in outcomes if o is not None]
        stored_values = view.outcomes[0].result.variables if view.outcomes and values is None else None
        templates = [self._template_of(view, choice) for choice in view.sides.values() if choice is not None]
        view.fields = self._fields_of([t for t in templates if t is not None], values, stored_values)
        return view

    async def run(
        self, name: str, tenant: TenantScope, sides: dict[str, Choice | None], values: dict[str, str]
    ) -> list[PromptResult] | PlaygroundView:
        """Run every chosen side with the same variables, in order: the stored results. The lean path (it is what the
        playground adds to the provider call): one read of the revisions, one resolve per side, then the run service.
        When a side is refused, the whole page comes back with the error beside its field; the sides run before it
        stay shown (their results are stored: they were real runs)."""
        revisions = await self.templates.revisions(name, tenant=tenant, limit=REVISIONS_OFFERED)
        chosen = {side: choice for side, choice in sides.items() if choice is not None}
        resolved: dict[str, tuple[Choice, PromptTemplate, PromptVersion | None]] = {}
        for side, choice in chosen.items():
            found = await self._resolve(name, tenant, choice, revisions)
            if found is None:
                return await self._refused(name, tenant, sides, values, {side: "Choose one of this prompt's."}, [])
            resolved[side] = (choice, *found)
        fields = self._fields_of([template for _, template, _ in resolved.values()], values, None)
        results: list[PromptResult] = []
        try:
            variables = parse_values(fields, values)
            for side, (choice, template, version) in resolved.items():
                try:
                    results.append(await self._run_one(name, choice, template, version, variables, tenant))
                except CORRECTABLE as error:
                    return await self._refused(name, tenant, sides, values, variable_errors(error, side), results)
                except ProviderError as error:  # the model refused or is away: say so, the form stays filled in
                    errors = {"form": f"Side {side.upper()}: {error.detail}"}
                    return await self._refused(name, tenant, sides, values, errors, results)
        except FormError as error:
            return await self._refused(name, tenant, sides, values, {error.field: error.detail}, results)
        return results

    async def _refused(
        self,
        name: str,
        tenant: TenantScope,
        sides: dict[str, Choice | None],
        values: dict[str, str],
        errors: dict[str, str],
        results: list[PromptResult],
    ) -> PlaygroundView:
        view = await self.page(name, tenant, sides, values=values)
        view.errors = errors
        view.outcomes = [o for side, r in zip(SIDES, results, strict=False) if (o := self._outcome(view, side, r))]
        return view

    async def _resolve(
        self, name: str, tenant: TenantScope, choice: Choice, revisions: list[PromptTemplate]
    ) -> tuple[PromptTemplate, PromptVersion | None] | None:
        """The revision (and pinned version) a side runs; None when it is not one of this prompt's."""
        if choice.kind == "revision":
            template = next((t for t in revisions if str(t.id) == choice.ref), None)
            return (template, None) if template is not None else None
        try:
            if choice.kind == "version":
                target, _ = await self.labels.resolve(name, tenant=tenant, version_id=int(choice.ref))
            else:
                target, _ = await self.labels.resolve(name, tenant=tenant, label=choice.ref)
        except (NotFound, InvalidInput):
            return None
        return target.template, target.version

    async def _run_one(
        self,
        name: str,
        choice: Choice,
        template: PromptTemplate,
        pinned: PromptVersion | None,
        variables: dict[str, Any],
        tenant: TenantScope,
    ) -> PromptResult:
        if choice.kind == "label":  # the run service's own use case: the result records the label and its drift
            return await self.runs.run_label(
                name, label=choice.ref, variables=variables, tenant=tenant, source=PLAYGROUND_SOURCE
            )
        if pinned is not None:
            command = RunCommand(
                template,
                pinned.provider,
                pinned.model_id,
                GenerationParams.from_stored(pinned.params),
                variables,
                Bundle.of_version(pinned),
                PLAYGROUND_SOURCE,
            )
            return await self.runs.run(command)
        request = msgspec.convert({**choice.pin.request(), "variables": variables}, RunRequest)
        bundle = self.runs.bundle(request.tools, request.tool_choice, request.response_format)
        return await self.runs.run(replace(request.command(template, bundle), source=PLAYGROUND_SOURCE))

    # -- what the page shows -----------------------------------------------------------------------------------------

    def _offered(self, view: PlaygroundView, choice: Choice) -> bool:
        return any(value == choice.key for value, _ in view.choices)

    def _default(self, view: PlaygroundView) -> Choice:
        if view.labels:
            return Choice("label", view.labels[0].label)
        if view.versions:
            return Choice("version", str(view.versions[0][0].id))
        return Choice("revision", str(view.revisions[0].id), PinFields(provider=PROVIDERS[0], model_id="gpt-4o"))

    def _template_of(self, view: PlaygroundView, choice: Choice) -> PromptTemplate | None:
        """A side's revision, from what the page read already (labels and versions carry their template id)."""
        if choice.kind == "revision":
            template_id = int(choice.ref)
        elif choice.kind == "version":
            template_id = next((v.template_id for v, _ in view.versions if str(v.id) == choice.ref), 0)
        else:
            template_id = next((label.template_id for label in view.labels if label.label == choice.ref), 0)
        return next((t for t in view.revisions if t.id == template_id), None)

    def _fields_of(
        self, templates: list[PromptTemplate], typed: dict[str, str] | None, stored: dict[str, Any] | None
    ) -> list[VariableField]:
        """One field per variable of the chosen revisions (the first one's input_schema types them)."""
        names: dict[str, None] = {}
        placeholders: set[str] = set()
        for template in templates:
            names.update(dict.fromkeys(template.variables))
            found = placeholder_names(template.messages or [])
            placeholders.update(found)
            names.update(dict.fromkeys(found))
        schema = next((t.input_schema for t in templates if t.input_schema), None) or {}
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        out = []
        for name in names:
            if typed is not None:
                value = typed.get(f"var_{name}", "")
            elif stored is not None and name in stored:
                value = stored[name] if isinstance(stored[name], str) else json.dumps(stored[name])
            else:
                value = ""
            out.append(field_for(name, properties.get(name) or {}, name in required, name in placeholders, value))
        return out

    async def _stored(self, view: PlaygroundView, side: str, result_id: int) -> Outcome | None:
        try:
            result = await self.runs.get(result_id)
        except NotFound:
            return None
        return self._outcome(view, side, result)

    def _outcome(self, view: PlaygroundView, side: str, result: PromptResult) -> Outcome | None:
        template = next((t for t in view.revisions if t.id == result.template_id), None)
        if template is None:
            return None  # another prompt's result: not this page's to show
        title = f"#{result.version_id} · r{template.revision} · {result.provider} · {result.model_id}"
        if result.label:
            title = f"label {result.label} → {title}"
        version = next((v for v, _ in view.versions if v.id == result.version_id), None)
        identity = identity_of(version.captured) if version is not None else result.system_fingerprint or "–"
        return Outcome(side, title, result, template, self.trace_link(result.trace_id), identity)
