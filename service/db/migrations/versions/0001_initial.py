"""Initial schema: prompt_templates, prompt_versions, prompt_results.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "prompt_templates",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(71), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("org_id", "workspace_id", "name", "content_hash", name="uq_prompt_templates_identity"),
        sa.UniqueConstraint("org_id", "workspace_id", "name", "revision", name="uq_prompt_templates_revision"),
    )
    op.create_index("ix_prompt_templates_tenant_id", "prompt_templates", ["org_id", "workspace_id", "id"])

    op.create_table(
        "prompt_versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("template_id", Id, sa.ForeignKey("prompt_templates.id", ondelete="CASCADE"), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("params_hash", sa.String(71), nullable=False),
        sa.Column("captured", sa.JSON(), nullable=False),
        sa.Column("pvk", sa.String(71), nullable=False),
        sa.Column("drift", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("template_id", "pvk", name="uq_prompt_versions_template_pvk"),
    )
    op.create_index(
        "ix_prompt_versions_lineage",
        "prompt_versions",
        ["template_id", "provider", "model_id", "params_hash", "id"],
    )

    op.create_table(
        "prompt_results",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("template_id", Id, sa.ForeignKey("prompt_templates.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version_id", Id, sa.ForeignKey("prompt_versions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("pvk", sa.String(71), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("rendered_prompt", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("system_fingerprint", sa.String(200), nullable=True),
        sa.Column("provider_metadata", sa.JSON(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_prompt_results_template_id", "prompt_results", ["template_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_prompt_results_template_id", table_name="prompt_results")
    op.drop_table("prompt_results")
    op.drop_index("ix_prompt_versions_lineage", table_name="prompt_versions")
    op.drop_table("prompt_versions")
    op.drop_index("ix_prompt_templates_tenant_id", table_name="prompt_templates")
    op.drop_table("prompt_templates")
