"""Webhooks: the transactional outbox of events (with a per-subject ordering key), the endpoints that receive a
workspace's events and the delivery log.

Revision ID: 0010_webhooks
Revises: 0009_splits_rollouts
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_webhooks"
down_revision = "0009_splits_rollouts"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_subjects",
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("workspace_id", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(300), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(40), nullable=False, unique=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("traceparent", sa.String(64), nullable=True),
        sa.Column("fanned_out", sa.Boolean(), nullable=False),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_index("ix_webhook_events_pending", "webhook_events", ["fanned_out", "id"])
    op.create_index("ix_webhook_events_subject", "webhook_events", ["org_id", "workspace_id", "subject", "seq"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", When, nullable=True),
        sa.Column("failing_since", When, nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_index("ix_webhook_endpoints_tenant", "webhook_endpoints", ["org_id", "workspace_id", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("endpoint_id", Id, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", Id, sa.ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", When, nullable=False),
        sa.Column("lease_until", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("last_attempt_at", When, nullable=True),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_order", "webhook_deliveries", ["endpoint_id", "subject", "seq"])
    op.create_index("ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_order", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_endpoints_tenant", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.drop_index("ix_webhook_events_subject", table_name="webhook_events")
    op.drop_index("ix_webhook_events_pending", table_name="webhook_events")
    op.drop_table("webhook_events")
    op.drop_table("webhook_subjects")
