"""SQL for prompt_versions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import insert_guarded
from service.db.models import PromptLabel, PromptTemplate, PromptVersion


class VersionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, version: PromptVersion) -> PromptVersion:
        await insert_guarded(self.session, version)
        return version

    async def by_pvk(self, template_id: int, pvk: str) -> PromptVersion | None:
        query = select(PromptVersion).where(PromptVersion.template_id == template_id, PromptVersion.pvk == pvk)
        return await self.session.scalar(query)

    async def labels_on_lineage(
        self, template: PromptTemplate, provider: str, model_id: str, params_hash: str
    ) -> list[str]:
        """The labels of the template's name that point at a version of this lineage: those a drift affects."""
        lineage = select(PromptVersion.id).where(
            PromptVersion.template_id == template.id,
            PromptVersion.provider == provider,
            PromptVersion.model_id == model_id,
            PromptVersion.params_hash == params_hash,
        )
        query = (
            select(PromptLabel.label)
            .where(
                PromptLabel.org_id == template.org_id,
                PromptLabel.workspace_id == template.workspace_id,
                PromptLabel.name == template.name,
                PromptLabel.version_id.in_(lineage),
            )
            .order_by(PromptLabel.label)
        )
        return list((await self.session.scalars(query)).all())

    async def newest_in_lineage(
        self, template_id: int, provider: str, model_id: str, params_hash: str
    ) -> PromptVersion | None:
        """The newest version pinned to the same (template, provider, model_id, params): drift is measured against it."""
        query = (
            select(PromptVersion)
            .where(
                PromptVersion.template_id == template_id,
                PromptVersion.provider == provider,
                PromptVersion.model_id == model_id,
                PromptVersion.params_hash == params_hash,
            )
            .order_by(PromptVersion.id.desc())
            .limit(1)
        )
        return await self.session.scalar(query)

    async def list_for_template(self, template_id: int, *, include_archived: bool = True) -> list[PromptVersion]:
        query = select(PromptVersion).where(PromptVersion.template_id == template_id).order_by(PromptVersion.id.desc())
        if not include_archived:
            query = query.where(PromptVersion.archived_at.is_(None))
        return list(await self.session.scalars(query))

    async def list_for_templates(
        self, template_ids: list[int], *, include_archived: bool = True
    ) -> list[PromptVersion]:
        """Versions of several revisions in one query, newest first."""
        query = (
            select(PromptVersion).where(PromptVersion.template_id.in_(template_ids)).order_by(PromptVersion.id.desc())
        )
        if not include_archived:
            query = query.where(PromptVersion.archived_at.is_(None))
        return list(await self.session.scalars(query))
