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
from service.templates.rendering import missing_variables
from service.templates.service import TemplateService
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

    @classmethod
    def of(cls, template: PromptTemplate, data: RunRequest) -> RunSpec:
        return cls(template, data.provider, data.model_id, generation_params(data.params), data.variables)


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
        return (await self.execute(RunSpec.of(template, data))).result

    async def execute(self, spec: RunSpec, *, annotate: Annotate | None = None) -> RunOutcome:
        """One provider call, then one write transaction. The request's session must start reading (route flag
        READS_FIRST): the template was read before, nothing is held during the call."""
        adapter = self.providers.get(spec.provider)
        template = spec.template
        missing = missing_variables(template.variables, spec.variables)
        if missing:
            raise Unprocessable(
                f"Missing variables: {', '.join(missing)}. Supply a value for each in `variables`.",
                code="missing_variables",
                missing=missing,
            )
        model_id = canonical_model_id(spec.provider, spec.model_id)
        prompt = self.templates.render(template, spec.variables)
        await end_reads(self.session)
        started = time.perf_counter()
        request = CompletionRequest(model_id, prompt, spec.params)
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
                template, spec.provider, model_id, spec.params, completion.identity
            )
            step.outcome(created=created, drift=version.drift)
        result = PromptResult(
            template_id=template.id,
            version_id=version.id,
            pvk=version.pvk,
            provider=spec.provider,
            model_id=model_id,
            variables=spec.variables,
            rendered_prompt=prompt,
            output=completion.text,
            system_fingerprint=completion.system_fingerprint or None,
            provider_metadata=completion.metadata,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            latency_ms=round(latency_ms, 3),
            trace_id=self.telemetry.current_trace_id(),
        )
        if annotate is not None:
            annotate(result, version)
        await self.repo.insert(result)
        fingerprint_present = bool(completion.system_fingerprint)
        on_commit(self.session, lambda: self.telemetry.record_result_insert(fingerprint_present=fingerprint_present))
        return RunOutcome(result, version, completion.identity, created)

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
