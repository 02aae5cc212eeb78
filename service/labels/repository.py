"""SQL for prompt_labels and prompt_label_events, and the reads that resolve a name + label to a version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.archive import rules as archive_rules
from service.db import label_history
from service.db.engine import insert_guarded
from service.db.models import PromptLabel, PromptLabelEvent, PromptName, PromptTemplate, PromptVersion
from service.labels import busy


@dataclass(frozen=True, slots=True)
class Target:
    """What a label (or `latest`, or a version id) resolves to: the version, its revision, the label row when there is
    one, and the newest version of the same lineage (template, provider, model, params) - drift is measured against
    it."""

    version: PromptVersion
    template: PromptTemplate
    label: PromptLabel | None = None
    newest_id: int | None = None
    newest_captured: dict[str, Any] | None = None
    # A split label: the arm picked (its index in the split; `version` is that arm's) and every arm's own target,
    # in split order (service/labels/split.py). None for a single target.
    variant: int | None = None
    arms: tuple[Target, ...] | None = None


_Version = aliased(PromptVersion, name="version")
_Newest = aliased(PromptVersion, name="newest")


def _with_newest_in_lineage(query: Select[Any]) -> Select[Any]:
    """Add the newest version of the labelled version's lineage through the lineage index, in the same statement."""
    newest_id = (
        select(func.max(PromptVersion.id))
        .where(
            PromptVersion.template_id == _Version.template_id,
            PromptVersion.provider == _Version.provider,
            PromptVersion.model_id == _Version.model_id,
            PromptVersion.params_hash == _Version.params_hash,
        )
        .correlate(_Version)
        .scalar_subquery()
    )
    return query.add_columns(_Newest.id, _Newest.captured).outerjoin(_Newest, _Newest.id == newest_id)


# Built once: resolve is the endpoint clients poll, and building this statement plus computing its cache key on every
# request cost about as much as the rest of the request (the cache key of a prebuilt statement is memoized).
_RESOLVE_LABEL = _with_newest_in_lineage(
    select(PromptLabel, _Version, PromptTemplate)
    .join(_Version, _Version.id == PromptLabel.version_id)
    .join(PromptTemplate, PromptTemplate.id == _Version.template_id)
    .where(
        PromptLabel.org_id == bindparam("org_id"),
        PromptLabel.workspace_id == bindparam("workspace_id"),
        PromptLabel.name == bindparam("name"),
        PromptLabel.label == bindparam("label"),
    )
)

_OF_NAME = (
    PromptTemplate.org_id == bindparam("org_id"),
    PromptTemplate.workspace_id == bindparam("workspace_id"),
    PromptTemplate.name == bindparam("name"),
)
_RESOLVE_LATEST = (
    select(_Version, PromptTemplate)
    .join(PromptTemplate, PromptTemplate.id == _Version.template_id)
    # `latest` is the newest that may be labelled: archived revisions and versions are skipped (service/archive/).
    .where(*_OF_NAME, PromptTemplate.archived_at.is_(None), _Version.archived_at.is_(None))
    .order_by(PromptTemplate.revision.desc(), _Version.id.desc())
    .limit(1)
)
_RESOLVE_VERSION = _with_newest_in_lineage(
    select(_Version, PromptTemplate)
    .join(PromptTemplate, PromptTemplate.id == _Version.template_id)
    .where(_Version.id == bindparam("version_id"), *_OF_NAME)
)


class LabelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- resolve: one statement each -------------------------------------------------------------------------------
    async def resolve_label(self, org_id: str, workspace_id: str, name: str, label: str) -> Target | None:
        params = {"org_id": org_id, "workspace_id": workspace_id, "name": name, "label": label}
        row = (await self.session.execute(_RESOLVE_LABEL, params)).first()
        if row is None:
            return None
        return Target(row[1], row[2], row[0], row[3], row[4])

    async def resolve_latest(self, org_id: str, workspace_id: str, name: str) -> Target | None:
        """The newest version of the newest revision that has a version (a revision nobody pinned yet cannot run)."""
        params = {"org_id": org_id, "workspace_id": workspace_id, "name": name}
        row = (await self.session.execute(_RESOLVE_LATEST, params)).first()
        # The newest version of its template is the newest of its lineage too: `latest` never drifts.
        return Target(row[0], row[1], None, row[0].id, row[0].captured) if row is not None else None

    async def resolve_version(self, org_id: str, workspace_id: str, name: str, version_id: int) -> Target | None:
        params = {"org_id": org_id, "workspace_id": workspace_id, "name": name, "version_id": version_id}
        row = (await self.session.execute(_RESOLVE_VERSION, params)).first()
        return Target(row[0], row[1], None, row[2], row[3]) if row is not None else None

    async def resolve_versions(
        self, org_id: str, workspace_id: str, name: str, version_ids: list[int]
    ) -> dict[int, Target]:
        """Several versions of this name in one statement (the arms of a split)."""
        query = _with_newest_in_lineage(
            select(_Version, PromptTemplate)
            .join(PromptTemplate, PromptTemplate.id == _Version.template_id)
            .where(
                _Version.id.in_(version_ids),
                PromptTemplate.org_id == org_id,
                PromptTemplate.workspace_id == workspace_id,
                PromptTemplate.name == name,
            )
        )
        rows = (await self.session.execute(query)).all()
        return {row[0].id: Target(row[0], row[1], None, row[2], row[3]) for row in rows}

    async def name_exists(self, org_id: str, workspace_id: str, name: str) -> bool:
        query = select(PromptTemplate.id).where(
            PromptTemplate.org_id == org_id, PromptTemplate.workspace_id == workspace_id, PromptTemplate.name == name
        )
        return await self.session.scalar(query.limit(1)) is not None

    async def list_labels(self, org_id: str, workspace_id: str, name: str) -> list[Target]:
        query = (
            select(PromptLabel, _Version, PromptTemplate)
            .join(_Version, _Version.id == PromptLabel.version_id)
            .join(PromptTemplate, PromptTemplate.id == _Version.template_id)
            .where(PromptLabel.org_id == org_id, PromptLabel.workspace_id == workspace_id, PromptLabel.name == name)
            .order_by(PromptLabel.label)
        )
        rows = (await self.session.execute(_with_newest_in_lineage(query))).all()
        return [Target(row[1], row[2], row[0], row[3], row[4]) for row in rows]

    async def archived_part(
        self, org_id: str, workspace_id: str, name: str, template_id: int, version_id: int
    ) -> str | None:
        """Which part of a label target is archived ("version", "revision", "name"; service/archive/), "gone" when it
        was deleted meanwhile, or None when it may be labelled. On PostgreSQL the target's rows are re-read FOR SHARE
        first, so an archive or delete running at the same moment (FOR UPDATE on them) is seen, whichever commits
        first (service/archive/repository.py)."""
        query = (
            select(PromptTemplate.archived_at, PromptVersion.archived_at)
            .join(PromptVersion, PromptVersion.template_id == PromptTemplate.id)
            .where(PromptTemplate.id == template_id, PromptVersion.id == version_id)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(read=True)
        row = (await self.session.execute(query)).first()
        if row is None:
            return "gone"
        name_archived = await self.session.scalar(
            select(PromptName.archived_at).where(
                PromptName.org_id == org_id, PromptName.workspace_id == workspace_id, PromptName.name == name
            )
        )
        return archive_rules.archived_part(
            name_archived=name_archived is not None,
            revision_archived=row[0] is not None,
            version_archived=row[1] is not None,
        )

    # -- moves -----------------------------------------------------------------------------------------------------
    async def lock_label(self, org_id: str, workspace_id: str, name: str, label: str) -> None:
        """Serialize moves of one label until this transaction ends, so each move reads the target and the history the
        previous one committed (concurrent moves: last writer wins, every move recorded with its true `from`).
        A row lock cannot do this for a label that does not exist yet. SQLite already serializes writers.
        The wait is bounded (service/labels/busy.py): a move that cannot get the lock soon answers 409 label_busy
        rather than holding a pooled connection while it waits."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        key = f"prompt_labels\x1f{org_id}\x1f{workspace_id}\x1f{name}\x1f{label}"
        attempt = select(func.pg_try_advisory_xact_lock(func.hashtextextended(key, 0)))
        for tried in range(busy.LOCK_ATTEMPTS):
            if await self.session.scalar(attempt):
                return
            if tried + 1 < busy.LOCK_ATTEMPTS:
                await busy.pause(tried)
        raise busy.LabelBusy(label, name)

    async def get_label(self, org_id: str, workspace_id: str, name: str, label: str) -> PromptLabel | None:
        query = select(PromptLabel).where(
            PromptLabel.org_id == org_id,
            PromptLabel.workspace_id == workspace_id,
            PromptLabel.name == name,
            PromptLabel.label == label,
        )
        return await self.session.scalar(query)

    async def insert_label(self, label: PromptLabel) -> PromptLabel:
        await insert_guarded(self.session, label)
        return label

    async def delete_label(self, label: PromptLabel) -> None:
        await self.session.delete(label)
        await self.session.flush()

    async def add_event(self, event: PromptLabelEvent) -> PromptLabelEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def latest_event(self, org_id: str, workspace_id: str, name: str, label: str) -> PromptLabelEvent | None:
        return await label_history.latest_event(self.session, org_id, workspace_id, name, label)

    async def get_event(self, event_id: int) -> PromptLabelEvent | None:
        return await self.session.get(PromptLabelEvent, event_id)

    async def history(
        self, org_id: str, workspace_id: str, name: str, label: str, *, before_id: int | None, limit: int
    ) -> list[PromptLabelEvent]:
        query = label_history.newest_first(org_id, workspace_id, name, label).limit(limit)
        if before_id is not None:
            query = query.where(PromptLabelEvent.id < before_id)
        return list(await self.session.scalars(query))

    # -- the web UI's overviews ------------------------------------------------------------------------------------
    async def list_labels_of_names(self, org_id: str, workspace_id: str, names: list[str]) -> list[Target]:
        """The stored labels of several names in one statement (the UI's prompt list shows them per row)."""
        query = (
            select(PromptLabel, _Version, PromptTemplate)
            .join(_Version, _Version.id == PromptLabel.version_id)
            .join(PromptTemplate, PromptTemplate.id == _Version.template_id)
            .where(PromptLabel.org_id == org_id, PromptLabel.workspace_id == workspace_id, PromptLabel.name.in_(names))
            .order_by(PromptLabel.name, PromptLabel.label)
        )
        rows = (await self.session.execute(_with_newest_in_lineage(query))).all()
        return [Target(row[1], row[2], row[0], row[3], row[4]) for row in rows]

    async def active_rollouts(self) -> list[PromptLabel]:
        """Every label of every tenant with a rollout running (few: the rollout worker reads them each tick)."""
        query = select(PromptLabel).where(PromptLabel.rollout.is_not(None)).order_by(PromptLabel.id)
        return [row for row in await self.session.scalars(query) if (row.rollout or {}).get("status") == "running"]

    async def name_history(self, org_id: str, workspace_id: str, name: str, *, limit: int) -> list[PromptLabelEvent]:
        """The newest events of every label of one name, newest first (through ix_prompt_label_events_label)."""
        query = (
            select(PromptLabelEvent)
            .where(
                PromptLabelEvent.org_id == org_id,
                PromptLabelEvent.workspace_id == workspace_id,
                PromptLabelEvent.name == name,
            )
            .order_by(PromptLabelEvent.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(query))
