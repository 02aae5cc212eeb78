"""The JSON of retiring prompts: a name's archive state and the record of a deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from service.archive.service import NameState
from service.db.models import PromptDeletion


class PromptNameOut(Struct):
    org_id: str
    workspace_id: str
    name: str
    archived: bool
    archived_at: datetime | None
    archived_by: str | None

    @classmethod
    def of(cls, state: NameState) -> PromptNameOut:
        return cls(
            org_id=state.org_id,
            workspace_id=state.workspace_id,
            name=state.name,
            archived=state.archived_at is not None,
            archived_at=state.archived_at,
            archived_by=state.archived_by,
        )


class PromptDeletionOut(Struct):
    """What `DELETE /api/prompts/{name}` removed and kept. `removed`: every revision with its versions; `labels`: the
    labels the prompt had (each also recorded as a `delete` in its history); `results_kept`: results that stay,
    pointing at this record by `deletion_id`."""

    id: int
    org_id: str
    workspace_id: str
    name: str
    actor: str
    reason: str | None
    removed: list[dict[str, Any]]
    labels: list[str]
    results_kept: int
    deleted_at: datetime

    @classmethod
    def of(cls, row: PromptDeletion) -> PromptDeletionOut:
        return cls(
            id=row.id,
            org_id=row.org_id,
            workspace_id=row.workspace_id,
            name=row.name,
            actor=row.actor,
            reason=row.reason,
            removed=list(row.removed),
            labels=list(row.labels),
            results_kept=row.results_kept,
            deleted_at=row.deleted_at,
        )


class PromptDeletionPage(Struct):
    items: list[PromptDeletionOut]
    next_cursor: str | None
