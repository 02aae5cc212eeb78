"""SQL for the endpoints API: webhook endpoints of a workspace and their delivery logs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_endpoint(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        self.session.add(endpoint)
        await self.session.flush()
        return endpoint

    async def endpoints(self, org_id: str, workspace_id: str) -> list[WebhookEndpoint]:
        query = (
            select(WebhookEndpoint)
            .where(WebhookEndpoint.org_id == org_id, WebhookEndpoint.workspace_id == workspace_id)
            .order_by(WebhookEndpoint.id)
        )
        return list((await self.session.scalars(query)).all())

    async def endpoint(self, org_id: str, workspace_id: str, endpoint_id: int) -> WebhookEndpoint | None:
        query = select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.org_id == org_id,
            WebhookEndpoint.workspace_id == workspace_id,
        )
        return await self.session.scalar(query)

    async def delete_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self.session.delete(endpoint)
        await self.session.flush()

    async def deliveries(
        self, endpoint_id: int, *, before_id: int | None, limit: int
    ) -> list[tuple[WebhookDelivery, WebhookEvent]]:
        """The endpoint's delivery log, newest first."""
        query = (
            select(WebhookDelivery, WebhookEvent)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(WebhookDelivery.id < before_id)
        return list((await self.session.execute(query)).tuples().all())

    async def delivery(self, endpoint_id: int, delivery_id: int) -> tuple[WebhookDelivery, WebhookEvent] | None:
        query = (
            select(WebhookDelivery, WebhookEvent)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.id == delivery_id)
        )
        row = (await self.session.execute(query)).tuples().first()
        return (row[0], row[1]) if row is not None else None

    async def retry_pending_now(self, endpoint_id: int, now: datetime) -> None:
        """The endpoint's pending deliveries become due now (a re-enabled endpoint skips what is left of its back-off)."""
        await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
            .values(next_attempt_at=now)
        )
        await self.session.flush()

    async def insert_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery:
        self.session.add(delivery)
        await self.session.flush()
        return delivery
