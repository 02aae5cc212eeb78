"""Running a template: render, ensure its version, call the LLM, store the result with the identity that produced it."""

from __future__ import annotations

import time
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import checkpoint, on_commit
from service.db.models import PromptResult, PromptTemplate, is_storable_id
from service.http.errors import NotFound, Unprocessable
from service.http.pagination import Page, check_limit, decode_cursor, page_of
from service.providers import ProviderRegistry
from service.providers.base import CompletionRequest
from service.providers.observed import observed_call
from service.runs.repository import ResultRepository, ResultSummary
from service.runs.schemas import RunRequest
from service.templates.rendering import missing_variables, render
from service.templates.service import TemplateService
from service.versions.service import VersionService, generation_params
from telemetry import Telemetry


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
        adapter = self.providers.get(data.provider)
        missing = missing_variables(template.variables, data.variables)
        if missing:
            raise Unprocessable(
                f"Missing variables: {', '.join(missing)}. Supply a value for each in `variables`.",
                code="missing_variables",
                missing=missing,
            )
        prompt = render(template.body, data.variables)
        params = generation_params(data.params)
        version, _ = await self.versions.ensure(template, data.provider, data.model_id, params)
        # The version is valid on its own; commit it so no transaction is held during the LLM call.
        await checkpoint(self.session)
        started = time.perf_counter()
        request = CompletionRequest(data.model_id, prompt, params)
        completion = await observed_call(
            self.telemetry, data.provider, data.model_id, partial(adapter.complete, request), prompt=prompt
        )
        latency_ms = (time.perf_counter() - started) * 1000
        result = PromptResult(
            template_id=template.id,
            version_id=version.id,
            pvk=version.pvk,
            provider=data.provider,
            model_id=data.model_id,
            variables=data.variables,
            rendered_prompt=prompt,
            output=completion.text,
            system_fingerprint=completion.system_fingerprint or None,
            provider_metadata=completion.metadata,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            latency_ms=round(latency_ms, 3),
            trace_id=self.telemetry.current_trace_id(),
        )
        await self.repo.insert(result)
        fingerprint_present = bool(completion.system_fingerprint)
        on_commit(self.session, lambda: self.telemetry.record_result_insert(fingerprint_present=fingerprint_present))
        return result

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
    ) -> Page[ResultSummary]:
        """Newest results of the workspace, or of every revision of one prompt name."""
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
            before_id=decode_cursor(cursor),
            limit=check_limit(limit) + 1,
        )
        return page_of(rows, limit)

    async def timings_since(
        self, templates: list[PromptTemplate], since: datetime, *, limit: int
    ) -> list[tuple[datetime, float]]:
        """(created_at, latency_ms) of the newest runs of these (already tenant-checked) templates since `since`."""
        return await self.repo.timings_since([template.id for template in templates], since, limit=limit)
