"""Observations: provider calls applications made themselves and reported (the API or OTLP spans), deduplicated by
(tenant, id), without prompt or output text.

Revision ID: 0008_observations
Revises: 0005_idempotency_keys
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_observations"
down_revision = "0007_chat_bundle"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "observations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("obs_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("label", sa.String(64), nullable=True),
        sa.Column("label_version_id", Id, nullable=False),
        sa.Column("version_id", Id, nullable=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("identity_matches_label", sa.Boolean(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("finish_reason", sa.String(32), nullable=True),
        sa.Column("error_type", sa.String(64), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.Column("span_id", sa.String(16), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("org_id", "workspace_id", "obs_id", name="uq_observations_tenant_obs_id"),
    )
    op.create_index(
        "ix_observations_label_received", "observations", ["org_id", "workspace_id", "name", "label", "received_at"]
    )
    op.create_index("ix_observations_received", "observations", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_observations_received", table_name="observations")
    op.drop_index("ix_observations_label_received", table_name="observations")
    op.drop_table("observations")
