"""SQL for prompt_results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import PromptResult, PromptTemplate


class ResultRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, result: PromptResult) -> PromptResult:
        self.session.add(result)
        await self.session.flush()
        return result

    async def get(self, result_id: int) -> PromptResult | None:
        return await self.session.get(PromptResult, result_id)

    async def list_for_template(self, template_id: int, *, before_id: int | None, limit: int) -> list[PromptResult]:
        query = (
            select(PromptResult)
            .where(PromptResult.template_id == template_id)
            .order_by(PromptResult.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(PromptResult.id < before_id)
        return list(await self.session.scalars(query))

    async def list_recent(
        self,
        *,
        org_id: str | None,
        workspace_id: str | None,
        template_ids: list[int] | None,
        before_id: int | None,
        limit: int,
    ) -> list[ResultSummary]:
        """Newest results of a workspace (or of some templates), without the big text columns."""
        query = (
            select(
                PromptResult.id,
                PromptResult.template_id,
                PromptTemplate.name,
                PromptTemplate.revision,
                PromptResult.provider,
                PromptResult.model_id,
                PromptResult.system_fingerprint,
                PromptResult.input_tokens,
                PromptResult.output_tokens,
                PromptResult.latency_ms,
                PromptResult.created_at,
            )
            .join(PromptTemplate, PromptTemplate.id == PromptResult.template_id)
            .order_by(PromptResult.id.desc())
            .limit(limit)
        )
        if org_id is not None:
            query = query.where(PromptTemplate.org_id == org_id)
        if workspace_id is not None:
            query = query.where(PromptTemplate.workspace_id == workspace_id)
        if template_ids is not None:
            query = query.where(PromptResult.template_id.in_(template_ids))
        if before_id is not None:
            query = query.where(PromptResult.id < before_id)
        return [ResultSummary(*row) for row in await self.session.execute(query)]

    async def timings_since(
        self, template_ids: list[int], since: datetime, *, limit: int
    ) -> list[tuple[datetime, float]]:
        """(created_at, latency_ms) of the newest `limit` results of these templates since `since`."""
        query = (
            select(PromptResult.created_at, PromptResult.latency_ms)
            .where(PromptResult.template_id.in_(template_ids), PromptResult.created_at >= since)
            .order_by(PromptResult.created_at.desc())
            .limit(limit)
        )
        return [(at, latency) for at, latency in await self.session.execute(query)]


@dataclass(frozen=True, slots=True)
class ResultSummary:
    """One row of the UI's results list: no prompt or output text."""

    id: int
    template_id: int
    name: str
    revision: int
    provider: str
    model_id: str
    system_fingerprint: str | None
    input_tokens: int
    output_tokens: int
    latency_ms: float
    created_at: datetime
