"""Idempotency keys: the stored first answer of each request sent with an `Idempotency-Key` header (24 h).

Revision ID: 0005_idempotency_keys
Revises: 0004_ui_indexes
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_idempotency_keys"
down_revision = "0004_ui_indexes"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(71), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("org_id", "workspace_id", "key", name="uq_idempotency_keys_scope_key"),
    )
    op.create_index("ix_idempotency_keys_scope_created", "idempotency_keys", ["org_id", "workspace_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_scope_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
