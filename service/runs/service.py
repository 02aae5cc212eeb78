"""Running a template: render, call the LLM once, read the identity from that completion, then - in one short write
transaction - find or create the version of that identity and store the result. The version a result points to is the
identity that really produced it; no probe is paid (ensure-version is the explicit pin: service/versions/service.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import begin_write, end_reads, on_commit
from service.db.models import PromptResult, PromptTemplate, PromptVersion, is_storable_id
from service.http.errors import NotFound, Unprocessable
from service.http.pagination import Page, check_limit, decode_cursor, page_of
from service.providers import ProviderRegistry
from service.providers.base import CompletionRequest, GenerationParams
from service.providers.identity import Captured, canonical_model_id
from service.providers.observed import observed_call
from service.runs.repository import ResultRepository, ResultSummary
from service.runs.schemas import RunRequest
from service.runs.structured import check_output
from service.templates.chat import CHAT
from service.templates.service import TemplateService
from service.versions.bundle import NO_BUNDLE, Bundle
from service.versions.service import VersionService, generation_params
from telemetry import Telemetry


@dataclass(frozen=True, slots=True)
class RunSpec:
    """What to run. A caller that resolved the provider, model and params elsewhere (a label) builds one itself."""

    template: PromptTemplate
    provider: str
    model_id: str
    params: GenerationParams
    variables: dict[str, Any]
    bundle: Bundle = NO_BUNDLE  # tools, tool_choice, response_format (service/versions/bundle.py)

    @classmethod
    def of(cls, template: PromptTemplate, data: RunRequest, bundle: Bundle = NO_BUNDLE) -> RunSpec:
        return cls(template, data.provider, data.model_id, generation_params(data.params), data.variables, bundle)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    result: PromptResult
    version: PromptVersion  # the version of the identity the provider reported for this very call
    identity: Captured  # that identity (service/providers/identity.py)
    version_created: bool


# Called inside the write transaction, before the result row is inserted: set extra result columns from the version.
Annotate = Callable[[PromptResult, PromptVersion], None]


class RunService:
    def __init__(
        self,
        session: AsyncSession,
        providers: ProviderRegistry,
        versions: VersionService,
        templates: TemplateService,
        telemetry: Telemetry,
    ) -> None:
        self.session = session
        self.templates = templates
        self.repo = ResultRepository(session)
        self.providers = providers
        self.versions = versions
        self.telemetry = telemetry

    async def run(self, template: PromptTemplate, data: RunRequest) -> PromptResult:
        bundle = self.versions.bundle(data.tools, data.tool_choice, data.response_format)
        return (await self.execute(RunSpec.of(template, data, bundle))).result

    async def execute(self, spec: RunSpec, *, annotate: Annotate | None = None) -> RunOutcome:
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
        with self.telemetry.ensure_version(template.id, spec.provider, model_id) as step:
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
        )
        schema = bundle.response_schema
        if schema is not None and not completion.tool_calls:
            checked = check_output(completion.text, schema)
            result.structured_output, result.schema_valid = checked.output, checked.valid
        if annotate is not None:
            annotate(result, version)
        await self.repo.insert(result)
        fingerprint_present = bool(completion.system_fingerprint)
        on_commit(self.session, lambda: self.telemetry.record_result_insert(fingerprint_present=fingerprint_present))
        if result.schema_valid is False:
            provider = spec.provider
            on_commit(self.session, lambda: self.telemetry.record_response_schema_violation(provider))
        return RunOutcome(result, version, completion.identity, created)

    async def get(self, result_id: int) -> PromptResult:
        result = await self.repo.get(result_id) if is_storable_id(result_id) else None
        if result is None:
            raise NotFound(f"No prompt result with id {result_id}.", code="result_not_found")
        try:
            await self.templates.get(result.template_id)  # the tenant check
        except NotFound:
            raise NotFound(f"No prompt result with id {result_id}.", code="result_not_found") from None
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
        org_id: str | None,
        workspace_id: str | None,
        limit: int,
        cursor: str | None,
        label: str | None = None,
    ) -> Page[ResultSummary]:
        """Newest results of the workspace, or of every revision of one prompt name; optionally only the runs that went
        through one label."""
        org_id, workspace_id = self.templates.optional_tenant(org_id, workspace_id)
        template_ids = None
        if name is not None:
            template_ids = await self.templates.ids_of_name(name, org_id=org_id, workspace_id=workspace_id)
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
