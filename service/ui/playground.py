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
from service.errors import InvalidInput, NotFound, ProviderError, Unprocessable
from service.labels.schemas import LabelOut
from service.labels.service import LabelService
from service.providers.base import GenerationParams
from service.runs.schemas import RunRequest
from service.runs.service import PLAYGROUND_SOURCE, RunCommand, RunService
from service.templates.chat import placeholder_names
from service.templates.service import TemplateService
from service.ui.editing import CORRECTABLE, errors_of
from service.ui.forms import FormError, PinFields
from service.ui.service import identity_of
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
class VariableField:
    name: str
    kind: str  # text | textarea | number | integer | boolean | enum | json | history
    value: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    description: str = ""


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
        view.fields = await self._fields(view, found_in, values, stored_values)
        return view

    async def run(self, view: PlaygroundView, tenant: TenantScope, values: dict[str, str]) -> list[PromptResult]:
        """Run every chosen side with the same variables, in order. The stored results; when a side is refused its
        error lands in view.errors and the sides run before it stay shown (their results are stored: real runs)."""
        try:
            variables = parse_values(view.fields, values)
        except FormError as error:
            view.errors = {error.field: error.detail}
            return []
        results: list[PromptResult] = []
        view.outcomes = []
        for side, choice in view.sides.items():
            if choice is None:
                continue
            try:
                result = await self._run_one(view, choice, variables, tenant)
            except CORRECTABLE as error:
                view.errors = variable_errors(error, side)
                return results
            except ProviderError as error:  # the model refused or is away: say so here, the form stays filled in
                view.errors = {"form": f"Side {side.upper()}: {error.detail}"}
                return results
            results.append(result)
            outcome = self._outcome(view, side, result)
            if outcome is not None:
                view.outcomes.append(outcome)
        return results

    async def _run_one(
        self, view: PlaygroundView, choice: Choice, variables: dict[str, Any], tenant: TenantScope
    ) -> PromptResult:
        if choice.kind == "label":
            return await self.runs.run_label(
                view.name, label=choice.ref, variables=variables, tenant=tenant, source=PLAYGROUND_SOURCE
            )
        if choice.kind == "version":
            target, _ = await self.labels.resolve(view.name, tenant=tenant, version_id=int(choice.ref))
            pinned = target.version
            command = RunCommand(
                target.template,
                pinned.provider,
                pinned.model_id,
                GenerationParams.from_stored(pinned.params),
                variables,
                Bundle.of_version(pinned),
                PLAYGROUND_SOURCE,
            )
            return await self.runs.run(command)
        template = next(t for t in view.revisions if str(t.id) == choice.ref)
        body = choice.pin.request()
        request = msgspec.convert({**body, "variables": variables}, RunRequest)
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

    async def _template_of(self, view: PlaygroundView, choice: Choice, tenant: TenantScope) -> PromptTemplate:
        if choice.kind == "revision":
            return next(t for t in view.revisions if str(t.id) == choice.ref)
        if choice.kind == "version":
            target, _ = await self.labels.resolve(view.name, tenant=tenant, version_id=int(choice.ref))
        else:
            target, _ = await self.labels.resolve(view.name, tenant=tenant, label=choice.ref)
        return target.template

    async def _fields(
        self,
        view: PlaygroundView,
        tenant: TenantScope,
        typed: dict[str, str] | None,
        stored: dict[str, Any] | None,
    ) -> list[VariableField]:
        """One field per variable of the chosen revisions (the first side's input_schema types them)."""
        templates = [await self._template_of(view, c, tenant) for c in view.sides.values() if c is not None]
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


def field_for(name: str, spec: dict[str, Any], required: bool, placeholder: bool, value: str) -> VariableField:
    description = str(spec.get("description", ""))[:300]
    if placeholder:
        return VariableField(name, "history", value, required, description=description or "a JSON list of messages")
    if isinstance(spec.get("enum"), list) and all(isinstance(v, str) for v in spec["enum"]):
        return VariableField(name, "enum", value, required, tuple(spec["enum"]), description)
    declared = spec.get("type")
    kinds = {"integer": "integer", "number": "number", "boolean": "boolean", "array": "json", "object": "json"}
    kind = kinds.get(declared, "text") if isinstance(declared, str) else "text"
    if kind == "text" and ("\n" in value or (spec.get("maxLength") or 0) > 200):
        kind = "textarea"
    return VariableField(name, kind, value, required, description=description)


def parse_values(fields: list[VariableField], typed: dict[str, str]) -> dict[str, Any]:
    """The variables as the field types read them; an empty optional field is left out (an API run would omit it)."""
    out: dict[str, Any] = {}
    for spec in fields:
        raw = typed.get(f"var_{spec.name}", "")
        where = f"var_{spec.name}"
        if spec.kind in ("text", "textarea", "enum"):
            if raw or spec.required or spec.kind != "enum":
                out[spec.name] = raw.replace("\r\n", "\n")
            continue
        if not raw.strip():
            continue
        if spec.kind in ("json", "history"):
            try:
                out[spec.name] = json.loads(raw)
            except json.JSONDecodeError as error:
                raise FormError(where, f"not valid JSON: {error.msg} at line {error.lineno}") from None
        elif spec.kind == "boolean":
            out[spec.name] = raw == "true"
        else:
            try:
                out[spec.name] = int(raw) if spec.kind == "integer" else float(raw)
            except ValueError:
                raise FormError(
                    where, f"not a{'n integer' if spec.kind == 'integer' else ' number'}: {raw[:40]}"
                ) from None
    return out


def variable_errors(
    error: InvalidInput | Unprocessable | FormError | msgspec.ValidationError, side: str
) -> dict[str, str]:
    """A run's refusal, beside the variable fields it names (or the side's model fields, or the whole form)."""
    if isinstance(error, Unprocessable):
        if error.code == "missing_variables":
            return {f"var_{name}": "needs a value" for name in error.extra.get("missing", [])} | {"form": error.detail}
        if error.code == "invalid_variables":
            found = {}
            for violation in error.extra.get("violations", []):
                head = violation["path"].split(".")[0].split("[")[0]
                found[f"var_{head}" if head != "$" else "form"] = violation["message"]
            return found | {"form": error.detail}
        if str(error.extra.get("path", "")).startswith("variables."):
            head = error.extra["path"].removeprefix("variables.").split("[")[0]
            return {f"var_{head}": error.detail}
    return {f"{side}_{key}" if key != "form" else key: detail for key, detail in errors_of(error).items()}
