"""The rules of label history that every writer of it shares (LabelService, and a prompt deletion's label deletes in
service/archive/): the latest row of a label, which rows sit beside the rollback stack, and where a new row's stack
parent points (PromptLabelEvent.stack_parent_id)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import PromptLabelEvent

# History rows that change no target (a rollout's decision to abort or to hold): they sit beside the rollback stack.
ANNOTATIONS = frozenset({"abort", "hold"})


def stack_top(event: PromptLabelEvent | None) -> int | None:
    """The id of the move a rollback issued now would undo (see PromptLabelEvent.stack_parent_id)."""
    if event is None:
        return None
    return event.stack_parent_id if event.kind == "rollback" or event.kind in ANNOTATIONS else event.id


def newest_first(org_id: str, workspace_id: str, name: str, label: str) -> Select[tuple[PromptLabelEvent]]:
    """A label's history rows, newest first (the labels API pages it; `latest_event` takes the first)."""
    return (
        select(PromptLabelEvent)
        .where(
            PromptLabelEvent.org_id == org_id,
            PromptLabelEvent.workspace_id == workspace_id,
            PromptLabelEvent.name == name,
            PromptLabelEvent.label == label,
        )
        .order_by(PromptLabelEvent.id.desc())
    )


async def latest_event(
    session: AsyncSession, org_id: str, workspace_id: str, name: str, label: str
) -> PromptLabelEvent | None:
    return await session.scalar(newest_first(org_id, workspace_id, name, label).limit(1))
