"""The JSON of /api/webhooks: the endpoint to create, an endpoint (its secret only in the creation answer), the delivery
log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from service.db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from service.http.schemas import TenantId, reject_nul
from service.webhooks.outbox import EVENT_TYPES

EventType = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description=f"One of: {', '.join(EVENT_TYPES)} (anything else: 400 `invalid_event_types`).",
        extra_json_schema={"enum": list(EVENT_TYPES)},
    ),
]
WebhookUrl = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=2000,
        # Documented, and enforced by the service itself, so a wrong scheme gets its own 400 invalid_webhook_url.
        extra_json_schema={"pattern": "^https?://"},
        description="An http(s) URL that receives the events. One whose host resolves to a loopback, private, "
        "link-local or cloud-metadata address is refused (400 `webhook_url_refused`) unless "
        "PROMPTER_WEBHOOK_ALLOWED_HOSTS allows it.",
    ),
]


class EndpointCreate(Struct, forbid_unknown_fields=True):
    url: WebhookUrl
    # Empty (the default): every event type, including types added later.
    event_types: Annotated[list[EventType], Meta(max_length=len(EVENT_TYPES))] = []
    description: Annotated[str, Meta(max_length=1000)] | None = None
    org_id: TenantId | None = None
    workspace_id: TenantId | None = None

    def __post_init__(self) -> None:
        reject_nul(url=self.url, description=self.description, event_types=self.event_types)
        reject_nul(org_id=self.org_id, workspace_id=self.workspace_id)


class EndpointOut(Struct):
    id: int
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_at: datetime | None
    failing_since: datetime | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookEndpoint) -> EndpointOut:
        return cls(
            id=row.id,
            url=row.url,
            event_types=list(row.event_types),
            description=row.description,
            enabled=row.enabled,
            disabled_at=row.disabled_at,
            failing_since=row.failing_since,
            created_by=row.created_by,
            created_at=row.created_at,
        )


class EndpointCreated(Struct):
    """The new endpoint and its signing secret (`whsec_...`): shown this once, keep it to verify signatures."""

    endpoint: EndpointOut
    secret: str


class EndpointList(Struct):
    items: list[EndpointOut]


class DeliveryOut(Struct):
    id: int
    event_id: str  # the `webhook-id` header
    event_type: str
    status: str  # pending | succeeded | failed
    attempts: int
    response_code: int | None
    latency_ms: float | None
    error: str | None
    next_attempt_at: datetime | None  # while pending
    last_attempt_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, delivery: WebhookDelivery, event: WebhookEvent) -> DeliveryOut:
        return cls(
            id=delivery.id,
            event_id=event.event_id,
            event_type=event.type,
            status=delivery.status,
            attempts=delivery.attempt,
            response_code=delivery.response_code,
            latency_ms=delivery.latency_ms,
            error=delivery.error,
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            last_attempt_at=delivery.last_attempt_at,
            created_at=delivery.created_at,
        )


class DeliveryPage(Struct):
    items: list[DeliveryOut]
    next_cursor: str | None
