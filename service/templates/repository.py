"""SQL for prompt_templates. Integrity errors leave here as `service.db.engine.IntegrityConflict`."""

from __future__ import annotations

# `builtins.list` in annotations: these classes have a method named `list`, which shadows the builtin inside them.
import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import insert_guarded
from service.db.models import PromptName, PromptResult, PromptTemplate


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, template: PromptTemplate) -> PromptTemplate:
        await insert_guarded(self.session, template)
        return template

    async def next_revision(self, org_id: str, workspace_id: str, name: str) -> int:
        await self._lock_name(org_id, workspace_id, name)
        query = select(func.max(PromptTemplate.revision)).where(
            PromptTemplate.org_id == org_id, PromptTemplate.workspace_id == workspace_id, PromptTemplate.name == name
        )
        current = await self.session.scalar(query)
        return (current or 0) + 1

    async def _lock_name(self, org_id: str, workspace_id: str, name: str) -> None:
        """Serialize revision allocation per (org, workspace, name) until this transaction ends.

        Without it, concurrent creates under one name all read the same max(revision), and each loser waits on the
        unique index for the winner's commit before failing: of 20 simultaneous new bodies only ~5 were stored, the
        rest got 409 revision_conflict. With it, each waits its turn and reads the committed max. SQLite already
        serializes writers (BEGIN IMMEDIATE)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        key = f"prompt_templates\x1f{org_id}\x1f{workspace_id}\x1f{name}"
        await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))

    async def find_identity(
        self, org_id: str, workspace_id: str, name: str, content_hash: str
    ) -> PromptTemplate | None:
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
        self,
        *,
        org_id: str | None,
        workspace_id: str | None,
        name: str | None,
        before_id: int | None,
        limit: int,
        include_archived: bool = False,
    ) -> list[PromptTemplate]:
        query = select(PromptTemplate).order_by(PromptTemplate.id.desc()).limit(limit)
        if not include_archived:
            query = query.where(PromptTemplate.archived_at.is_(None), ~_name_archived())
        if org_id is not None:
            query = query.where(PromptTemplate.org_id == org_id)
        if workspace_id is not None:
            query = query.where(PromptTemplate.workspace_id == workspace_id)
        if name is not None:
            query = query.where(PromptTemplate.name == name)
        if before_id is not None:
            query = query.where(PromptTemplate.id < before_id)
        return list(await self.session.scalars(query))

    async def list_names(
        self,
        *,
        org_id: str | None,
        workspace_id: str | None,
        search: str | None,
        after: str | None,
        limit: int,
        include_archived: bool = False,
    ) -> builtins.list[NameSummary]:
        """One row per prompt name, ordered by name and keyset-paginated by it (the revision unique index serves
        both). `search` matches anywhere in the name, case-insensitively."""
        query = (
            select(
                PromptTemplate.org_id,
                PromptTemplate.workspace_id,
                PromptTemplate.name,
                func.max(PromptTemplate.revision),
                func.max(PromptTemplate.id),
            )
            .group_by(PromptTemplate.org_id, PromptTemplate.workspace_id, PromptTemplate.name)
            .order_by(PromptTemplate.name, PromptTemplate.org_id, PromptTemplate.workspace_id)
            .limit(limit)
        )
        query = _tenant_filter(query, org_id, workspace_id)
        if not include_archived:
            query = query.where(~_name_archived())
        if search:
            escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(func.lower(PromptTemplate.name).like(f"%{escaped}%", escape="\\"))
        if after is not None:
            query = query.where(PromptTemplate.name > after)
        rows = await self.session.execute(query)
        return [NameSummary(*row) for row in rows]

    async def workspaces(self, *, limit: int) -> builtins.list[tuple[str, str]]:
        """The (org, workspace) pairs that hold any prompt, in order (the leading columns of the revision index)."""
        query = (
            select(PromptTemplate.org_id, PromptTemplate.workspace_id)
            .distinct()
            .order_by(PromptTemplate.org_id, PromptTemplate.workspace_id)
            .limit(limit)
        )
        return [(org_id, workspace_id) for org_id, workspace_id in await self.session.execute(query)]

    async def last_runs(
        self, org_id: str | None, workspace_id: str | None, names: builtins.list[str]
    ) -> dict[tuple, datetime]:
        """Newest result time per (org, workspace, name): one index probe per template (no scan of its results)."""
        newest = (
            select(func.max(PromptResult.created_at))
            .where(PromptResult.template_id == PromptTemplate.id)
            .correlate(PromptTemplate)
            .scalar_subquery()
        )
        query = _tenant_filter(
            select(PromptTemplate.org_id, PromptTemplate.workspace_id, PromptTemplate.name, newest).where(
                PromptTemplate.name.in_(names)
            ),
            org_id,
            workspace_id,
        )
        last: dict[tuple, datetime] = {}
        for org, workspace, name, at in await self.session.execute(query):
            key = (org, workspace, name)
            if at is not None and (key not in last or at > last[key]):
                last[key] = at
        return last

    async def revisions(
        self, org_id: str, workspace_id: str, name: str, *, limit: int, include_archived: bool = True
    ) -> builtins.list[PromptTemplate]:
        """The newest `limit` revisions of one name, newest first."""
        query = (
            select(PromptTemplate)
            .where(
                PromptTemplate.org_id == org_id,
                PromptTemplate.workspace_id == workspace_id,
                PromptTemplate.name == name,
            )
            .order_by(PromptTemplate.revision.desc())
            .limit(limit)
        )
        if not include_archived:
            query = query.where(PromptTemplate.archived_at.is_(None))
        return list(await self.session.scalars(query))

    async def ids_of_name(self, org_id: str | None, workspace_id: str | None, name: str) -> builtins.list[int]:
        query = _tenant_filter(select(PromptTemplate.id).where(PromptTemplate.name == name), org_id, workspace_id)
        return list(await self.session.scalars(query))


def _name_archived() -> Any:
    """The template's name is archived (prompt_names, service/archive/): correlated, one probe of its unique index."""
    return exists().where(
        PromptName.org_id == PromptTemplate.org_id,
        PromptName.workspace_id == PromptTemplate.workspace_id,
        PromptName.name == PromptTemplate.name,
        PromptName.archived_at.is_not(None),
    )


def _tenant_filter(query: Select[Any], org_id: str | None, workspace_id: str | None) -> Select[Any]:
    if org_id is not None:
        query = query.where(PromptTemplate.org_id == org_id)
    if workspace_id is not None:
        query = query.where(PromptTemplate.workspace_id == workspace_id)
    return query


@dataclass(frozen=True, slots=True)
class NameSummary:
    """A prompt name as the UI's list shows it."""

    org_id: str
    workspace_id: str
    name: str
    newest_revision: int
    newest_id: int
