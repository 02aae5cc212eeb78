"""Labels: named pointers from (org, workspace, template name) to a version, their history of moves, and the label a
result was run through.

Revision ID: 0003_labels
Revises: 0002_api_keys
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_labels"
down_revision = "0002_api_keys"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "prompt_labels",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("version_id", Id, sa.ForeignKey("prompt_versions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("org_id", "workspace_id", "name", "label", name="uq_prompt_labels_identity"),
    )
    op.create_table(
        "prompt_label_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_version_id", Id, nullable=True),
        sa.Column("to_version_id", Id, nullable=True),
        sa.Column("stack_parent_id", Id, nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_prompt_label_events_label", "prompt_label_events", ["org_id", "workspace_id", "name", "label", "id"]
    )
    # Batch mode so the downgrade's DROP COLUMN also works on SQLite (Alembic copies the table where it must).
    with op.batch_alter_table("prompt_results") as batch:
        batch.add_column(sa.Column("label", sa.String(64), nullable=True))
        batch.add_column(sa.Column("identity_matches_label", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prompt_results") as batch:
        batch.drop_column("identity_matches_label")
        batch.drop_column("label")
    op.drop_index("ix_prompt_label_events_label", table_name="prompt_label_events")
    op.drop_table("prompt_label_events")
    op.drop_table("prompt_labels")
