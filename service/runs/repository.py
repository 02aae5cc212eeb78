"""SQL for prompt_results."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import PromptResult


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
