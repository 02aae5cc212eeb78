"""SQL for archive state (prompt_names, the archived_* columns) and for deleting a prompt name.

Locks, on PostgreSQL (SQLite already serializes writers): archiving or deleting takes the rows it changes FOR UPDATE
before it reads the labels; a label move takes its target's template and version rows FOR SHARE before it reads the
archive state (service/labels/repository.py: `archived_part`). Whichever commits first, the other one reads what it did: an archive never misses a
label moved at the same moment, and a label never lands on something archived at the same moment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import label_history
from service.db.engine import insert_guarded
from service.db.models import (
    PromptDeletion,
    PromptLabel,
    PromptLabelEvent,
    PromptName,
    PromptResult,
    PromptTemplate,
    PromptVersion,
)


class ArchiveRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _locking(self, query: Select[Any], *, share: bool = False) -> Select[Any]:
        if self.session.get_bind().dialect.name != "postgresql":
            return query
        return query.with_for_update(read=share)

    # -- reads -----------------------------------------------------------------------------------------------------
    async def get_name(self, org_id: str, workspace_id: str, name: str) -> PromptName | None:
        query = select(PromptName).where(
            PromptName.org_id == org_id, PromptName.workspace_id == workspace_id, PromptName.name == name
        )
        return await self.session.scalar(query)

    async def archived_names(self, org_id: str, workspace_id: str, names: Sequence[str]) -> set[str]:
        query = select(PromptName.name).where(
            PromptName.org_id == org_id,
            PromptName.workspace_id == workspace_id,
            PromptName.name.in_(names),
            PromptName.archived_at.is_not(None),
        )
        return set(await self.session.scalars(query))

    async def templates_of_name(
        self, org_id: str, workspace_id: str, name: str, *, lock: bool = False
    ) -> list[PromptTemplate]:
        query = (
            select(PromptTemplate)
            .where(
                PromptTemplate.org_id == org_id,
                PromptTemplate.workspace_id == workspace_id,
                PromptTemplate.name == name,
            )
            .order_by(PromptTemplate.id)
        )
        return list(await self.session.scalars(self._locking(query) if lock else query))

    async def name_exists(self, org_id: str, workspace_id: str, name: str) -> bool:
        query = select(PromptTemplate.id).where(
            PromptTemplate.org_id == org_id, PromptTemplate.workspace_id == workspace_id, PromptTemplate.name == name
        )
        return await self.session.scalar(query.limit(1)) is not None

    async def deletions(
        self, org_id: str, workspace_id: str, *, before_id: int | None, limit: int
    ) -> list[PromptDeletion]:
        """The workspace's deletion records, newest first (through ix_prompt_deletions_tenant)."""
        query = (
            select(PromptDeletion)
            .where(PromptDeletion.org_id == org_id, PromptDeletion.workspace_id == workspace_id)
            .order_by(PromptDeletion.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(PromptDeletion.id < before_id)
        return list(await self.session.scalars(query))

    async def lock_templates_of_name(self, org_id: str, workspace_id: str, name: str) -> list[PromptTemplate]:
        return await self.templates_of_name(org_id, workspace_id, name, lock=True)

    async def latest_label_event(
        self, org_id: str, workspace_id: str, name: str, label: str
    ) -> PromptLabelEvent | None:
        return await label_history.latest_event(self.session, org_id, workspace_id, name, label)

    async def lock_template(self, template_id: int) -> PromptTemplate | None:
        query = select(PromptTemplate).where(PromptTemplate.id == template_id)
        return await self.session.scalar(self._locking(query).execution_options(populate_existing=True))

    async def lock_version(self, version_id: int) -> tuple[PromptVersion, PromptTemplate] | None:
        query = (
            select(PromptVersion, PromptTemplate)
            .join(PromptTemplate, PromptTemplate.id == PromptVersion.template_id)
            .where(PromptVersion.id == version_id)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=PromptVersion)
        row = (await self.session.execute(query.execution_options(populate_existing=True))).first()
        return (row[0], row[1]) if row is not None else None

    async def labels_of(
        self,
        org_id: str,
        workspace_id: str,
        name: str,
        *,
        template_id: int | None = None,
        version_id: int | None = None,
    ) -> list[str]:
        """The stored labels of the name, or only those pointing at one revision's versions or at one version. A split
        label points at every one of its arms (service/labels/split.py), not only at its baseline."""
        query = select(PromptLabel.label, PromptLabel.version_id, PromptLabel.split).where(
            PromptLabel.org_id == org_id, PromptLabel.workspace_id == workspace_id, PromptLabel.name == name
        )
        rows = (await self.session.execute(query.order_by(PromptLabel.label))).all()
        if version_id is None and template_id is None:
            return [label for label, _, _ in rows]
        wanted: set[int] = set()
        if version_id is not None:
            wanted.add(version_id)
        if template_id is not None:
            of_revision = select(PromptVersion.id).where(PromptVersion.template_id == template_id)
            wanted.update(await self.session.scalars(of_revision))
        return [
            label for label, target, split in rows if {target, *(arm["version_id"] for arm in split or [])} & wanted
        ]

    async def stored_labels(self, org_id: str, workspace_id: str, name: str) -> list[PromptLabel]:
        query = select(PromptLabel).where(
            PromptLabel.org_id == org_id, PromptLabel.workspace_id == workspace_id, PromptLabel.name == name
        )
        return list(await self.session.scalars(query.order_by(PromptLabel.label)))

    async def versions_of(self, template_ids: Sequence[int]) -> list[PromptVersion]:
        query = select(PromptVersion).where(PromptVersion.template_id.in_(template_ids)).order_by(PromptVersion.id)
        return list(await self.session.scalars(query))

    # -- writes ----------------------------------------------------------------------------------------------------
    async def insert_name(self, row: PromptName) -> PromptName:
        await insert_guarded(self.session, row)
        return row

    async def flush(self) -> None:
        await self.session.flush()

    async def add(self, row: PromptDeletion | PromptLabelEvent) -> None:
        self.session.add(row)
        await self.session.flush()

    async def detach_results(self, deletion_id: int, template_ids: Sequence[int]) -> int:
        """Keep the results of the deleted revisions: they remember what they belonged to and point at the deletion
        record; their foreign keys become NULL before the rows they point at go. Returns how many."""
        statement = (
            update(PromptResult)
            .where(PromptResult.template_id.in_(template_ids))
            .values(
                deletion_id=deletion_id,
                deleted_template_id=PromptResult.template_id,
                deleted_version_id=PromptResult.version_id,
                template_id=None,
                version_id=None,
            )
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(statement)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def delete_name_rows(self, org_id: str, workspace_id: str, name: str, template_ids: Sequence[int]) -> None:
        """Labels, versions, revisions and the name's state row: one statement each, children first."""
        await self.session.execute(
            delete(PromptLabel).where(
                PromptLabel.org_id == org_id, PromptLabel.workspace_id == workspace_id, PromptLabel.name == name
            )
        )
        await self.session.execute(delete(PromptVersion).where(PromptVersion.template_id.in_(template_ids)))
        await self.session.execute(delete(PromptTemplate).where(PromptTemplate.id.in_(template_ids)))
        await self.session.execute(
            delete(PromptName).where(
                PromptName.org_id == org_id, PromptName.workspace_id == workspace_id, PromptName.name == name
            )
        )
