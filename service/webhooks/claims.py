"""The delivery worker's SQL: fan events out to endpoints, claim due deliveries, record how an attempt ended.

Replicas share the work: on PostgreSQL every claim takes its rows `FOR UPDATE SKIP LOCKED`, so two workers never take
the same row, and a claimed delivery is leased (`lease_until`) rather than held in a transaction while its request is
in flight; a worker that dies mid-delivery leaves a lease that expires, and another worker delivers it again (at
least once). On SQLite the claim runs in the writer's transaction (one writer at a time) and needs no row locks.

Order: a delivery is claimable only when no earlier event of its subject is still waiting for this endpoint (not fanned
out yet, or pending) - so each endpoint gets a prompt's events one at a time, in the order they were committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from service.webhooks.backoff import Backoff
from service.webhooks.outbox import add_event, endpoint_subject


@dataclass(frozen=True, slots=True)
class Claim:
    """A leased delivery with everything the attempt needs, read in the claim's transaction."""

    delivery_id: int
    attempt: int
    endpoint_id: int
    url: str
    secret: str
    event_id: str
    event_type: str
    created_at: datetime
    data: dict[str, Any]
    traceparent: str | None
    failing_since: datetime | None = None  # the endpoint's, as the claim read it


def matches(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


async def fan_out(session: AsyncSession, *, limit: int) -> int:
    """Create the deliveries of up to `limit` events not fanned out yet (one per enabled, matching endpoint)."""
    events = (
        await session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.fanned_out.is_(False))
            .order_by(WebhookEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    endpoints: dict[tuple[str, str], list[WebhookEndpoint]] = {}
    for event in events:
        tenant = (event.org_id, event.workspace_id)
        if tenant not in endpoints:
            endpoints[tenant] = list(
                (
                    await session.scalars(
                        select(WebhookEndpoint).where(
                            WebhookEndpoint.org_id == event.org_id,
                            WebhookEndpoint.workspace_id == event.workspace_id,
                            WebhookEndpoint.enabled.is_(True),
                        )
                    )
                ).all()
            )
        for endpoint in endpoints[tenant]:
            if matches(endpoint, event.type):
                session.add(
                    WebhookDelivery(
                        endpoint_id=endpoint.id,
                        event_id=event.id,
                        subject=event.subject,
                        seq=event.seq,
                        status="pending",
                        attempt=0,
                        next_attempt_at=event.created_at,
                        created_at=event.created_at,
                    )
                )
        event.fanned_out = True
    await session.flush()
    return len(events)


def _due(now: datetime, *, endpoint_id: int | None = None, subject: str | None = None) -> Select[tuple[int]]:
    """Deliveries that may be attempted now: pending, due, not leased, to an enabled endpoint, and first in line of
    their subject for their endpoint."""
    d = WebhookDelivery
    earlier = aliased(WebhookDelivery)
    earlier_pending = exists().where(
        earlier.endpoint_id == d.endpoint_id,
        earlier.subject == d.subject,
        earlier.seq < d.seq,
        earlier.status == "pending",
    )
    earlier_unfanned = exists().where(
        WebhookEvent.org_id == WebhookEndpoint.org_id,
        WebhookEvent.workspace_id == WebhookEndpoint.workspace_id,
        WebhookEvent.subject == d.subject,
        WebhookEvent.seq < d.seq,
        WebhookEvent.fanned_out.is_(False),
    )
    due = (
        select(d.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
        .where(
            d.status == "pending",
            d.next_attempt_at <= now,
            or_(d.lease_until.is_(None), d.lease_until < now),
            WebhookEndpoint.enabled.is_(True),
            ~earlier_pending,
            ~earlier_unfanned,
        )
        .order_by(d.next_attempt_at, d.id)
    )
    if endpoint_id is not None:
        due = due.where(d.endpoint_id == endpoint_id, d.subject == subject)
    return due


async def has_work(session: AsyncSession, *, now: datetime) -> bool:
    """Whether a pass would find anything (a read: on SQLite it takes no write lock)."""
    unfanned = await session.scalar(select(WebhookEvent.id).where(WebhookEvent.fanned_out.is_(False)).limit(1))
    return unfanned is not None or (await session.scalar(_due(now).limit(1))) is not None


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease_s: float,
    endpoint_id: int | None = None,
    subject: str | None = None,
) -> list[Claim]:
    """Lease up to `limit` due deliveries (of one endpoint and subject, when given) and read what their attempts need."""
    d = WebhookDelivery
    due = _due(now, endpoint_id=endpoint_id, subject=subject).limit(limit).with_for_update(skip_locked=True, of=d)
    ids = list((await session.scalars(due)).all())
    if not ids:
        return []
    await session.execute(update(d).where(d.id.in_(ids)).values(lease_until=now + timedelta(seconds=lease_s)))
    rows = await session.execute(
        select(d, WebhookEndpoint, WebhookEvent)
        .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == d.event_id)
        .where(d.id.in_(ids))
        .order_by(d.next_attempt_at, d.id)
    )
    return [
        Claim(
            delivery.id,
            delivery.attempt,
            endpoint.id,
            endpoint.url,
            endpoint.secret,
            event.event_id,
            event.type,
            event.created_at,
            event.data,
            event.traceparent,
            endpoint.failing_since,
        )
        for delivery, endpoint, event in rows.tuples()
    ]


@dataclass(frozen=True, slots=True)
class Result:
    ok: bool
    status_code: int | None
    latency_ms: float
    error: str | None


async def finish(
    session: AsyncSession,
    claimed: Claim,
    result: Result,
    *,
    now: datetime,
    backoff: Backoff,
    disable_after_s: float,
    lease_s: float,
) -> Claim | None:
    """Record the attempt; after a success, lease the next delivery in line of the same endpoint and subject and
    return it (the worker sends it at once: one transaction per delivery of a busy prompt, not three). A stale claim
    (its lease expired and another worker took the delivery over) records nothing."""
    delivery = await session.get(WebhookDelivery, claimed.delivery_id, with_for_update=True)
    if delivery is None or delivery.status != "pending" or delivery.attempt != claimed.attempt:
        return None
    delivery.attempt += 1
    delivery.last_attempt_at = now
    delivery.response_code = result.status_code
    delivery.latency_ms = round(result.latency_ms, 3)
    delivery.error = result.error
    delivery.lease_until = None
    if result.ok:
        delivery.status = "succeeded"
        # A healthy endpoint (the claim read no failure) costs no statement; a recovering one is cleared.
        if claimed.failing_since is not None:
            await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == claimed.endpoint_id, WebhookEndpoint.failing_since.is_not(None))
                .values(failing_since=None)
            )
        await session.flush()
        following = await claim(
            session, now=now, limit=1, lease_s=lease_s, endpoint_id=claimed.endpoint_id, subject=delivery.subject
        )
        return following[0] if following else None
    if backoff.gives_up((now - delivery.created_at).total_seconds()):
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff.delay(delivery.attempt))
    endpoint = await session.get(WebhookEndpoint, claimed.endpoint_id, with_for_update=True)
    if endpoint is not None and endpoint.enabled:
        if endpoint.failing_since is None:
            endpoint.failing_since = now
        elif (now - endpoint.failing_since).total_seconds() >= disable_after_s:
            await disable(session, endpoint, now=now, error=result.error)
    await session.flush()
    return None


async def disable(session: AsyncSession, endpoint: WebhookEndpoint, *, now: datetime, error: str | None) -> None:
    endpoint.enabled = False
    endpoint.disabled_at = now
    await add_event(
        session,
        org_id=endpoint.org_id,
        workspace_id=endpoint.workspace_id,
        type="webhook_endpoint.disabled",
        subject=endpoint_subject(endpoint.id),
        data={
            "endpoint_id": endpoint.id,
            "url": endpoint.url,
            "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else None,
            "last_error": error,
        },
    )


async def has_expired(session: AsyncSession, *, before: datetime) -> bool:
    """Whether any event was written before `before` (a read on the age index: most passes then write nothing)."""
    return await session.scalar(select(WebhookEvent.id).where(WebhookEvent.created_at < before).limit(1)) is not None


async def prune(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Remove up to `limit` events written before `before` that are done with (fanned out, no delivery pending),
    oldest first, with their deliveries. Replicas prune side by side: each skips the rows another has locked."""
    pending = exists().where(WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.status == "pending")
    ids = (
        await session.scalars(
            select(WebhookEvent.id)
            .where(WebhookEvent.created_at < before, WebhookEvent.fanned_out.is_(True), ~pending)
            .order_by(WebhookEvent.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if ids:
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(ids)))
        await session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(ids)))
    return len(ids)


async def oldest_waiting(session: AsyncSession) -> datetime | None:
    """When the oldest event still owed to some endpoint was written (outbox lag), or None when nothing waits."""
    unfanned = select(func.min(WebhookEvent.created_at)).where(WebhookEvent.fanned_out.is_(False))
    pending = (
        select(func.min(WebhookEvent.created_at))
        .select_from(WebhookDelivery)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, and_(WebhookEndpoint.id == WebhookDelivery.endpoint_id, WebhookEndpoint.enabled))
        .where(WebhookDelivery.status == "pending")
    )
    found = [value for value in ((await session.scalar(unfanned)), (await session.scalar(pending))) if value]
    return min(found) if found else None
