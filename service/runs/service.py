"""Running a template: render, call the LLM once, read the identity from that completion, then - in one short write
transaction - find or create the version of that identity and store the result. The version a result points to is the
identity that really produced it; no probe is paid (ensure-version is the explicit pin: service/versions/service.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.principal import TenantScope
from service.db.engine import begin_write, emit, end_reads
from service.db.models import PromptResult, PromptTemplate, is_storable_id
from service.db.pagination import Page, check_limit, decode_cursor, page_of
from service.errors import NotFound, ProviderError, Unprocessable
from service.labels.drift import count_labelled_call
from service.labels.service import LabelService
from service.providers import ProviderRegistry
from service.providers.base import CompletionRequest, GenerationParams
from service.providers.identity import canonical_model_id
from service.providers.observed import observed_call
from service.runs.failed_calls import FailedCalls
from service.runs.repository import ResultRepository, ResultSummary
from service.runs.structured import check_output
from service.templates.chat import CHAT
from service.templates.service import TemplateService
from service.versions.bundle import NO_BUNDLE, Bundle
from service.versions.service import VersionService
from telemetry import Telemetry
from telemetry.events import ResultStored, SchemaViolated


@dataclass(frozen=True, slots=True)
class RunCommand:
    """What to run: a template (already read and tenant-checked) with a provider, model, params and variables."""

    template: PromptTemplate
    provider: str
    model_id: str
    params: GenerationParams
    variables: dict[str, Any]
    bundle: Bundle = NO_BUNDLE  # tools, tool_choice, response_format (service/versions/bundle.py)
    source: str = "api"  # API_SOURCE or PLAYGROUND_SOURCE: stored on the result


# Where a result came from: the API, or a person trying a prompt in the web UI's playground.
API_SOURCE = "api"
PLAYGROUND_SOURCE = "playground"


# The name this command had before; kept for callers that still use it.
RunSpec = RunCommand


@dataclass(frozen=True, slots=True)
class ThroughLabel:
    """A run that went through a label: the label, and the identity its version was pinned to."""

    label: str | None
    pinned: dict[str, Any]
    variant: int | None = None  # the arm of a split label


class RunService:
    def __init__(
        self,
        session: AsyncSession,
        providers: ProviderRegistry,
        versions: VersionService,
        templates: TemplateService,
        telemetry: Telemetry,
        labels: LabelService | None = None,
        repo: ResultRepository | None = None,
        failed_calls: FailedCalls | None = None,
    ) -> None:
        self.session = session
        self.templates = templates
        self.labels = labels
        self.repo = repo or ResultRepository(session)
        self.providers = providers
        self.versions = versions
        self.telemetry = telemetry
        self.failed_calls = failed_calls

    async def run(self, command: RunCommand) -> PromptResult:
        return await self.execute(command)

    def bundle(self, tools: Any, tool_choice: Any, response_format: Any) -> Bundle:
        """A run's own bundle, validated like a pinned one (400/422 naming the path of anything malformed)."""
        return self.versions.bundle(tools, tool_choice, response_format)

    async def run_label(
        self,
        name: str,
        *,
        label: str | None,
        variables: dict[str, Any],
        tenant: TenantScope,
        key: str | None = None,
        source: str = API_SOURCE,
    ) -> PromptResult:
        """Run the labelled version's template with its provider, model and params (one provider call, as `run`). The
        result records the label and whether the identity the provider reported is the one the labelled version was
        pinned to; a mismatch is label drift (counted, and shown by resolve from now on, since the run pinned a new
        version of the same lineage)."""
        assert self.labels is not None, "RunService needs the label service to run through a label"
        target, resolved_label = await self.labels.resolve(name, tenant=tenant, label=label, key=key)
        pinned = target.version
        command = RunCommand(
            target.template,
            pinned.provider,
            pinned.model_id,
            GenerationParams.from_stored(pinned.params),
            variables,
            Bundle.of_version(pinned),
            source,
        )
        started = time.perf_counter()
        try:
            result = await self.execute(command, through=ThroughLabel(resolved_label, pinned.captured, target.variant))
        except ProviderError as error:
            # A split arm's failure is an outcome its rollout must see (service/runs/failed_calls.py).
            if (
                source == API_SOURCE
                and target.variant is not None
                and resolved_label is not None
                and self.failed_calls is not None
            ):
                latency_ms = (time.perf_counter() - started) * 1000
                trace_id = self.telemetry.current_trace_id()
                await self.failed_calls.record(target, resolved_label, error.code, latency_ms, trace_id)
            raise
        if source != API_SOURCE:
            return result  # a person trying the label by hand is not the label's traffic
        # Drift and the production-traffic metrics, decided as for an observation (service/labels/drift.py).
        count_labelled_call(
            self.session,
            label=resolved_label,
            provider=pinned.provider,
            matches=result.identity_matches_label,
            latency_ms=result.latency_ms,
            variant=result.variant,
        )
        return result

    async def execute(self, spec: RunCommand, *, through: ThroughLabel | None = None) -> PromptResult:
        """One provider call, then one write transaction. The request's session must start reading (route flag
        READS_FIRST): the template was read before, nothing is held during the call."""
        adapter = self.providers.get(spec.provider)
        template = spec.template
        missing = self.templates.check_values(template, spec.variables)
        if missing:
            raise Unprocessable(
                f"Missing variables: {', '.join(missing)}. Supply a value for each in `variables`.",
                code="missing_variables",
                missing=missing,
            )
        model_id = canonical_model_id(spec.provider, spec.model_id)
        messages = None
        if template.type == CHAT:
            messages = self.templates.render_chat(template, spec.variables)
            prompt = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)  # the span's text only
        else:
            prompt = self.templates.render(template, spec.variables)
        bundle = spec.bundle
        await end_reads(self.session)
        started = time.perf_counter()
        request = CompletionRequest(
            model_id, prompt, spec.params, messages, bundle.tools, bundle.tool_choice, bundle.response_format
        )
        completion = await observed_call(
            self.telemetry, spec.provider, model_id, partial(adapter.complete, request), prompt=prompt
        )
        latency_ms = (time.perf_counter() - started) * 1000
        self.telemetry.record_model_answered(spec.provider, model_id)

        await begin_write(self.session)
        # The run's own ensure-version step: the same span and histogram as the explicit pin, minus the probe.
        tenant = (template.org_id, template.workspace_id)  # its share of the model-id labels
        with self.telemetry.ensure_version(template.id, spec.provider, model_id, tenant) as step:
            version, created = await self.versions.find_or_create(
                template, spec.provider, model_id, spec.params, completion.identity, bundle
            )
            step.outcome(created=created, drift=version.drift)
        result = PromptResult(
            template_id=template.id,
            version_id=version.id,
            pvk=version.pvk,
            provider=spec.provider,
            model_id=model_id,
            variables=spec.variables,
            rendered_prompt="" if messages is not None else prompt,
            rendered_messages=messages,
            tool_calls=completion.tool_calls or None,
            output=completion.text,
            system_fingerprint=completion.system_fingerprint or None,
            provider_metadata=completion.metadata,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            latency_ms=round(latency_ms, 3),
            trace_id=self.telemetry.current_trace_id(),
            source=spec.source,
        )
        schema = bundle.response_schema
        if schema is not None and not completion.tool_calls:
            checked = check_output(completion.text, schema)
            result.structured_output, result.schema_valid = checked.output, checked.valid
        if through is not None:
            result.label = through.label
            result.identity_matches_label = version.captured == through.pinned
            result.variant = through.variant
        key = (tenant, template.id, version.pvk)  # read now: a failed flush expires the loaded rows' attributes
        try:
            await self.repo.insert(result)
        except Exception:
            # The version may be gone (deleted by another process while this one had it cached): the next run reads
            # it from the database again instead of failing the same way.
            self.versions.forget(*key)
            raise
        emit(self.session, ResultStored(fingerprint_present=bool(completion.system_fingerprint)))
        if result.schema_valid is False:
            emit(self.session, SchemaViolated(spec.provider))
        return result

    async def get(self, result_id: int) -> PromptResult:
        principal = self.templates.principal
        tenant = (principal.org_id, principal.workspace_id) if principal is not None else None
        result = await self.repo.get(result_id, tenant) if is_storable_id(result_id) else None
        if result is None:  # missing, or another tenant's: the same answer from the same one query
            raise NotFound(f"No prompt result with id {result_id}.", code="result_not_found")
        return result

    async def list_for_template(
        self, template: PromptTemplate, *, limit: int, cursor: str | None
    ) -> Page[PromptResult]:
        rows = await self.repo.list_for_template(
            template.id, before_id=decode_cursor(cursor), limit=check_limit(limit) + 1
        )
        return page_of(rows, limit)

    async def recent(
        self,
        *,
        name: str | None,
        tenant: TenantScope,
        limit: int,
        cursor: str | None,
        label: str | None = None,
    ) -> Page[ResultSummary]:
        """Newest results of the workspace, or of every revision of one prompt name; optionally only the runs that went
        through one label."""
        org_id, workspace_id = tenant.optional()
        template_ids = None
        if name is not None:
            template_ids = await self.templates.ids_of_name(name, tenant=tenant)
            if not template_ids:
                return Page([], None)
        rows = await self.repo.list_recent(
            org_id=org_id,
            workspace_id=workspace_id,
            template_ids=template_ids,
            label=label,
            before_id=decode_cursor(cursor),
            limit=check_limit(limit) + 1,
        )
        return page_of(rows, limit)

    async def hourly_activity(
        self, templates: list[PromptTemplate], since: datetime
    ) -> tuple[dict[int, int], dict[int, float]]:
        """Runs per whole hour since `since` of these (already tenant-checked) templates, and each hour's p95 latency
        (nearest rank), both computed in the database."""
        return await self.repo.hourly_activity([template.id for template in templates], since)
