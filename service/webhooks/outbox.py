"""The transactional outbox: what happened, written as an event row in the caller's session, so the event exists
exactly when the change it describes was committed (the request owns the transaction: this adds and flushes, never
commits). The delivery worker (service/webhooks/worker.py) delivers it afterwards, off the request path.

How another service emits an event:

    from service.webhooks.outbox import add_event, prompt_subject
    await add_event(session, org_id=..., workspace_id=..., type="prompt.archived",
                    subject=prompt_subject(name), data={"prompt": name, ...})

`type` must be one of EVENT_TYPES (an unknown one raises: a typo must fail its tests, not go unnoticed). Events of one
`subject` are delivered to each endpoint in the order they were written: a prompt's events use `prompt_subject(name)`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import PromptLabelEvent, WebhookEvent, WebhookSubject, utcnow
from service.db.transactions import on_commit
from telemetry.webhooks import current_traceparent

# Every kind of label history row (PromptLabelEvent.kind) and the event type it is published as. A kind missing here
# raises in `label_event_type`, so a new kind cannot be added without deciding its event.
LABEL_EVENT_TYPES: dict[str, str] = {
    "move": "label.moved",
    "rollback": "label.rolled_back",
    "delete": "label.deleted",
    "split": "label.split_changed",
    "promote": "rollout.promoted",
    "complete": "rollout.completed",
    "abort": "rollout.aborted",
    "hold": "rollout.held",
}
OTHER_EVENT_TYPES: tuple[str, ...] = (
    "prompt.revision_created",
    "prompt.version_created",
    "prompt.archived",
    "prompt.unarchived",
    "prompt.deleted",
    "model_identity.changed",
    "webhook_endpoint.disabled",
)
EVENT_TYPES: tuple[str, ...] = (*LABEL_EVENT_TYPES.values(), *OTHER_EVENT_TYPES)
_KNOWN = frozenset(EVENT_TYPES)


class Outbox(Protocol):
    """What a service that emits events depends on: `add_event` (unit tests on fakes pass a recorder)."""

    async def __call__(
        self, session: AsyncSession, *, org_id: str, workspace_id: str, type: str, subject: str, data: dict[str, Any]
    ) -> object: ...


class UnknownEventType(ValueError):
    """A bug: an event type or label kind nobody declared."""


def label_event_type(kind: str) -> str:
    try:
        return LABEL_EVENT_TYPES[kind]
    except KeyError:
        raise UnknownEventType(
            f"label history kind {kind!r} has no webhook event type: add it to LABEL_EVENT_TYPES"
        ) from None


def label_event(event: PromptLabelEvent) -> dict[str, Any]:
    """The outbox event of one label-history row (every writer of label history sends the same shape), as the
    keyword arguments of `add_event` after the session."""
    return {
        "org_id": event.org_id,
        "workspace_id": event.workspace_id,
        "type": label_event_type(event.kind),
        "subject": prompt_subject(event.name),
        "data": {
            "prompt": event.name,
            "label": event.label,
            "kind": event.kind,
            "from_version_id": event.from_version_id,
            "to_version_id": event.to_version_id,
            "history_id": event.id,
            "actor": event.actor,
            "reason": event.reason,
            "split": event.split,
            "details": event.details,
        },
    }


def prompt_subject(name: str) -> str:
    return f"prompt:{name}"


def endpoint_subject(endpoint_id: int) -> str:
    return f"webhook_endpoint:{endpoint_id}"


def new_event_id() -> str:
    """The Standard Webhooks `webhook-id`: unique per event, the same on every attempt (receivers dedupe on it)."""
    return f"msg_{uuid.uuid4().hex}"


async def add_event(
    session: AsyncSession, *, org_id: str, workspace_id: str, type: str, subject: str, data: dict[str, Any]
) -> WebhookEvent:
    """Add the event to the caller's transaction (committed or rolled back with it)."""
    if type not in _KNOWN:
        raise UnknownEventType(f"event type {type!r} is not one of service.webhooks.outbox.EVENT_TYPES")
    seq = await _next_seq(session, org_id, workspace_id, subject)
    row = WebhookEvent(
        event_id=new_event_id(),
        org_id=org_id,
        workspace_id=workspace_id,
        type=type,
        subject=subject,
        seq=seq,
        data=data,
        traceparent=current_traceparent(),
        fanned_out=False,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    on_commit(session, wake_workers)
    return row


async def _next_seq(session: AsyncSession, org_id: str, workspace_id: str, subject: str) -> int:
    """Bump the subject's counter and return it. The upsert locks the subject's row until this transaction ends, so
    the next event of the same subject (another request) waits and gets the next number after this one committed."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = insert(WebhookSubject).values(org_id=org_id, workspace_id=workspace_id, subject=subject, last_seq=1)
    statement = values.on_conflict_do_update(
        index_elements=["org_id", "workspace_id", "subject"],
        set_={"last_seq": WebhookSubject.last_seq + 1},
    ).returning(WebhookSubject.last_seq)
    return int((await session.execute(statement)).scalar_one())


def payload_of(event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The body every endpoint receives, in the Standard Webhooks shape."""
    timestamp = created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    body = {"type": event_type, "timestamp": timestamp, "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode("utf-8")


# In-process wake-ups: a committed event wakes this process's delivery workers at once instead of at their next poll.
_WAKERS: dict[int, Callable[[], None]] = {}


def register_waker(event: asyncio.Event) -> int:
    loop = asyncio.get_running_loop()
    key = id(event)

    def wake() -> None:
        loop.call_soon_threadsafe(event.set)

    _WAKERS[key] = wake
    return key


def unregister_waker(key: int) -> None:
    _WAKERS.pop(key, None)


def wake_workers() -> None:
    for wake in list(_WAKERS.values()):
        try:
            wake()
        except RuntimeError:  # that worker's loop is closed
            pass
