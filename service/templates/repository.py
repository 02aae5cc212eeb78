"""SQL for prompt_templates. Integrity errors leave here as `service.db.IntegrityConflict`."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import insert_guarded
from service.models import PromptTemplate


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, template: PromptTemplate) -> PromptTemplate:
        await insert_guarded(self.session, template)
        return template

    async def next_revision(self, org_id: str, workspace_id: str, name: str) -> int:
        query = select(func.max(PromptTemplate.revision)).where(
            PromptTemplate.org_id == org_id, PromptTemplate.workspace_id == workspace_id, PromptTemplate.name == name
        )
        current = await self.session.scalar(query)
        return (current or 0) + 1

    async def find_identity(self, org_id: str, workspace_id: str, name: str, content_hash: str) -> PromptTemplate | None:
        query = select(PromptTemplate).where(
            PromptTemplate.org_id == org_id,
            PromptTemplate.workspace_id == workspace_id,
            PromptTemplate.name == name,
            PromptTemplate.content_hash == content_hash,
        )
        return await self.session.scalar(query)

    async def get(self, template_id: int) -> PromptTemplate | None:
        return await self.session.get(PromptTemplate, template_id)

    async def list(
        self, *, org_id: str | None, workspace_id: str | None, name: str | None, before_id: int | None, limit: int
    ) -> list[PromptTemplate]:
        query = select(PromptTemplate).order_by(PromptTemplate.id.desc()).limit(limit)
        if org_id is not None:
            query = query.where(PromptTemplate.org_id == org_id)
        if workspace_id is not None:
            query = query.where(PromptTemplate.workspace_id == workspace_id)
        if name is not None:
            query = query.where(PromptTemplate.name == name)
        if before_id is not None:
            query = query.where(PromptTemplate.id < before_id)
        return list(await self.session.scalars(query))
