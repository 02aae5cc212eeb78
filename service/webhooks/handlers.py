"""/api/webhooks: a workspace's webhook endpoints and their delivery logs (admin keys only)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from service.auth.principal import TenantScope
from service.http.pagination import CURSOR_DESCRIPTION, CURSOR_PATTERN, DEFAULT_LIMIT
from service.webhooks.schemas import (
    DeliveryOut,
    DeliveryPage,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointOut,
)
from service.webhooks.service import EndpointDraft, WebhookService

EndpointId = Annotated[int, Parameter(ge=1, le=2**63 - 1, description="The endpoint's id.")]
DeliveryId = Annotated[int, Parameter(ge=1, le=2**63 - 1, description="The delivery's id.")]


class WebhookController(Controller):
    path = "/api/webhooks"
    tags = ["webhooks"]

    @post("", status_code=201, summary="Create a webhook endpoint; answers its signing secret (whsec_...) once")
    async def create_endpoint(
        self,
        data: JSONBody[EndpointCreate],
        webhooks: NamedDependency[WebhookService],
        tenant: NamedDependency[TenantScope],
    ) -> EndpointCreated:
        draft = EndpointDraft(data.url, list(data.event_types), data.description)
        endpoint, secret = await webhooks.create(draft, tenant=tenant.named(data.org_id, data.workspace_id))
        return EndpointCreated(EndpointOut.of(endpoint), secret)

    @get("", summary="The workspace's webhook endpoints")
    async def list_endpoints(
        self, webhooks: NamedDependency[WebhookService], tenant: NamedDependency[TenantScope]
    ) -> EndpointList:
        return EndpointList([EndpointOut.of(row) for row in await webhooks.list(tenant=tenant)])

    @get("/{endpoint_id:int}", summary="One webhook endpoint (without its secret)")
    async def get_endpoint(
        self, endpoint_id: EndpointId, webhooks: NamedDependency[WebhookService], tenant: NamedDependency[TenantScope]
    ) -> EndpointOut:
        return EndpointOut.of(await webhooks.get(endpoint_id, tenant=tenant))

    @delete("/{endpoint_id:int}", status_code=204, summary="Delete a webhook endpoint and its delivery log")
    async def delete_endpoint(
        self, endpoint_id: EndpointId, webhooks: NamedDependency[WebhookService], tenant: NamedDependency[TenantScope]
    ) -> None:
        await webhooks.delete(endpoint_id, tenant=tenant)

    @post(
        "/{endpoint_id:int}/enable",
        status_code=200,
        summary="Turn a disabled endpoint back on (same secret); its pending deliveries are tried again now",
    )
    async def enable_endpoint(
        self, endpoint_id: EndpointId, webhooks: NamedDependency[WebhookService], tenant: NamedDependency[TenantScope]
    ) -> EndpointOut:
        return EndpointOut.of(await webhooks.enable(endpoint_id, tenant=tenant))

    @get("/{endpoint_id:int}/deliveries", summary="The endpoint's deliveries, newest first: status, latency, response")
    async def list_deliveries(
        self,
        endpoint_id: EndpointId,
        webhooks: NamedDependency[WebhookService],
        tenant: NamedDependency[TenantScope],
        limit: Annotated[int, Parameter(ge=1, le=200)] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, Parameter(pattern=CURSOR_PATTERN, description=CURSOR_DESCRIPTION)] = None,
    ) -> DeliveryPage:
        page = await webhooks.deliveries(endpoint_id, tenant=tenant, limit=limit, cursor=cursor)
        return DeliveryPage([DeliveryOut.of(d, e) for d, e in page.items], page.next_cursor)

    @post(
        "/{endpoint_id:int}/deliveries/{delivery_id:int}/redeliver",
        status_code=202,
        summary="Send a delivery's event to the endpoint again (same webhook-id), now",
    )
    async def redeliver(
        self,
        endpoint_id: EndpointId,
        delivery_id: DeliveryId,
        webhooks: NamedDependency[WebhookService],
        tenant: NamedDependency[TenantScope],
    ) -> DeliveryOut:
        delivery, event = await webhooks.redeliver(endpoint_id, delivery_id, tenant=tenant)
        return DeliveryOut.of(delivery, event)


# The package's routes, mounted by service/app.py (its dependencies: service/webhooks/dependencies.py).
router = Router(path="/", route_handlers=[WebhookController])
