"""Webhook events are kept for PROMPTER_WEBHOOK_RETENTION_S: an index on their age lets the delivery worker find the
ones past it without reading the whole outbox, and one on a delivery's event finds an event's deliveries.

Revision ID: 0013_webhook_retention
Revises: 0012_playground_results
Create Date: 2026-12-07
"""

from alembic import op

revision = "0013_webhook_retention"
down_revision = "0012_playground_results"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_webhook_events_created", "webhook_events", ["created_at"])
    op.create_index("ix_webhook_deliveries_event", "webhook_deliveries", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_event", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_events_created", table_name="webhook_events")
