"""Webhook endpoints, whole: create (URL checked by the SSRF rule, a generated secret answered once), list, get,
delete, enable again after the worker disabled one, the delivery log and manual redelivery. Admin keys only. Flushes,
never commits."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.principal import Principal, TenantScope
from service.db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, is_storable_id, utcnow
from service.db.pagination import Page, check_limit, decode_cursor, page_of
from service.errors import Forbidden, InvalidInput, NotFound, Unprocessable
from service.webhooks.outbox import EVENT_TYPES
from service.webhooks.repository import WebhookRepository
from service.webhooks.urls import UrlPolicy

ANONYMOUS = "anonymous"
MAX_ENDPOINTS = 50


@dataclass(frozen=True, slots=True)
class EndpointDraft:
    url: str
    event_types: list[str]
    description: str | None = None


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class WebhookService:
    def __init__(
        self,
        session: AsyncSession,
        policy: UrlPolicy,
        principal: Principal | None = None,
        repo: WebhookRepository | None = None,
    ) -> None:
        self.repo = repo or WebhookRepository(session)
        self.policy = policy
        self.principal = principal

    def _admin(self, tenant: TenantScope) -> tuple[str, str]:
        pair = tenant.pair()
        if self.principal is not None and not self.principal.is_admin:
            raise Forbidden(
                f"This API key has the `{self.principal.role}` role; webhooks are managed with an `admin` key.",
                code="forbidden_role",
            )
        return pair

    async def create(self, draft: EndpointDraft, *, tenant: TenantScope) -> tuple[WebhookEndpoint, str]:
        """The endpoint and its secret (the only time the secret is answered)."""
        org_id, workspace_id = self._admin(tenant)
        unknown = sorted(set(draft.event_types) - set(EVENT_TYPES))
        if unknown:
            raise InvalidInput(
                f"event_types: unknown event type(s) {', '.join(map(repr, unknown))}; known: {', '.join(EVENT_TYPES)} "
                "(an empty list subscribes to every type).",
                code="invalid_event_types",
            )
        await self.policy.check(draft.url)
        if len(await self.repo.endpoints(org_id, workspace_id)) >= MAX_ENDPOINTS:
            raise Unprocessable(
                f"This workspace has {MAX_ENDPOINTS} webhook endpoints, the most it may have; delete one first.",
                code="too_many_endpoints",
            )
        secret = new_secret()
        endpoint = WebhookEndpoint(
            org_id=org_id,
            workspace_id=workspace_id,
            url=draft.url,
            event_types=sorted(set(draft.event_types)),
            description=draft.description,
            secret=secret,
            enabled=True,
            created_by=self.principal.key_id if self.principal is not None else ANONYMOUS,
            created_at=utcnow(),
        )
        return await self.repo.insert_endpoint(endpoint), secret

    async def list(self, *, tenant: TenantScope) -> list[WebhookEndpoint]:
        return await self.repo.endpoints(*self._admin(tenant))

    async def get(self, endpoint_id: int, *, tenant: TenantScope) -> WebhookEndpoint:
        org_id, workspace_id = self._admin(tenant)
        found = await self.repo.endpoint(org_id, workspace_id, endpoint_id) if is_storable_id(endpoint_id) else None
        if found is None:
            raise NotFound(f"No webhook endpoint with id {endpoint_id} in this workspace.", code="endpoint_not_found")
        return found

    async def delete(self, endpoint_id: int, *, tenant: TenantScope) -> None:
        await self.repo.delete_endpoint(await self.get(endpoint_id, tenant=tenant))

    async def enable(self, endpoint_id: int, *, tenant: TenantScope) -> WebhookEndpoint:
        """Turn a disabled endpoint back on, keeping its secret: the deliveries still pending when it was disabled are
        tried again now, in order; events handed out to endpoints while it was disabled were not addressed to it. The
        URL is checked again, since the SSRF allow-list may have changed. Enabling an enabled endpoint changes nothing."""
        endpoint = await self.get(endpoint_id, tenant=tenant)
        if endpoint.enabled:
            return endpoint
        await self.policy.check(endpoint.url)
        endpoint.enabled = True
        endpoint.disabled_at = None
        endpoint.failing_since = None
        await self.repo.retry_pending_now(endpoint.id, utcnow())
        return endpoint

    async def deliveries(
        self, endpoint_id: int, *, tenant: TenantScope, limit: int, cursor: str | None
    ) -> Page[tuple[WebhookDelivery, WebhookEvent]]:
        endpoint = await self.get(endpoint_id, tenant=tenant)
        rows = await self.repo.deliveries(endpoint.id, before_id=decode_cursor(cursor), limit=check_limit(limit) + 1)
        page = page_of([delivery for delivery, _ in rows], limit)
        events = {delivery.id: event for delivery, event in rows}
        return Page([(delivery, events[delivery.id]) for delivery in page.items], page.next_cursor)

    async def redeliver(
        self, endpoint_id: int, delivery_id: int, *, tenant: TenantScope
    ) -> tuple[WebhookDelivery, WebhookEvent]:
        """Send a delivery's event to its endpoint once more (a new delivery, same `webhook-id`), whatever became of
        the first: the receiver lost it, or it was given up."""
        endpoint = await self.get(endpoint_id, tenant=tenant)
        found = await self.repo.delivery(endpoint.id, delivery_id) if is_storable_id(delivery_id) else None
        if found is None:
            raise NotFound(
                f"Webhook endpoint {endpoint_id} has no delivery with id {delivery_id}.", code="delivery_not_found"
            )
        if not endpoint.enabled:
            raise Unprocessable(
                f"Webhook endpoint {endpoint_id} is disabled (it failed for too long); once the receiver works "
                f"again, enable it with POST /api/webhooks/{endpoint_id}/enable.",
                code="endpoint_disabled",
            )
        original, event = found
        now = utcnow()
        delivery = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event.id,
            subject=original.subject,
            seq=original.seq,
            status="pending",
            attempt=0,
            next_attempt_at=now,
            created_at=now,
        )
        return await self.repo.insert_delivery(delivery), event
