"""Retiring prompts: archive state on revisions, versions and names (prompt_names), the record of deleted names
(prompt_deletions), and results that outlive their prompt.

A deleted prompt's results stay: their template_id and version_id become NULL (the foreign keys now SET NULL instead of
CASCADE) and deletion_id, deleted_template_id and deleted_version_id keep what they belonged to.

Revision ID: 0011_archive
Revises: 0010_webhooks
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_archive"
down_revision = "0010_webhooks"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ARCHIVABLE = ("prompt_templates", "prompt_versions")
# The names the initial migration's unnamed foreign keys got: PostgreSQL's default; on SQLite the batch copy names
# the reflected ones by this convention so they can be dropped.
NAMING = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}
PARENTS = (("template_id", "prompt_templates"), ("version_id", "prompt_versions"))


def upgrade() -> None:
    for table in ARCHIVABLE:
        op.add_column(table, sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("archived_by", sa.String(64), nullable=True))
    op.create_table(
        "prompt_names",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_by", sa.String(64), nullable=True),
        sa.UniqueConstraint("org_id", "workspace_id", "name", name="uq_prompt_names_identity"),
    )
    op.create_table(
        "prompt_deletions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("results_kept", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_prompt_deletions_tenant", "prompt_deletions", ["org_id", "workspace_id", "id"])
    # prompt_results is copied on SQLite (nothing references it, so the copy's DROP TABLE cascades to nothing).
    with op.batch_alter_table("prompt_results", naming_convention=NAMING, recreate="auto") as batch:
        for column, parent in PARENTS:
            batch.drop_constraint(f"prompt_results_{column}_fkey", type_="foreignkey")
            batch.alter_column(column, existing_type=Id, nullable=True)
            batch.create_foreign_key(f"prompt_results_{column}_fkey", parent, [column], ["id"], ondelete="SET NULL")
        batch.add_column(sa.Column("deletion_id", Id, nullable=True))
        batch.add_column(sa.Column("deleted_template_id", Id, nullable=True))
        batch.add_column(sa.Column("deleted_version_id", Id, nullable=True))
        batch.create_foreign_key("prompt_results_deletion_id_fkey", "prompt_deletions", ["deletion_id"], ["id"])
    op.create_index("ix_prompt_results_deletion", "prompt_results", ["deletion_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_prompt_results_deletion", table_name="prompt_results")
    # The results of deleted prompts have no template to belong to under the old schema: they go with it.
    op.execute("DELETE FROM prompt_results WHERE template_id IS NULL OR version_id IS NULL")
    with op.batch_alter_table("prompt_results", naming_convention=NAMING, recreate="auto") as batch:
        batch.drop_constraint("prompt_results_deletion_id_fkey", type_="foreignkey")
        batch.drop_column("deleted_version_id")
        batch.drop_column("deleted_template_id")
        batch.drop_column("deletion_id")
        for column, parent in PARENTS:
            batch.drop_constraint(f"prompt_results_{column}_fkey", type_="foreignkey")
            batch.alter_column(column, existing_type=Id, nullable=False)
            batch.create_foreign_key(f"prompt_results_{column}_fkey", parent, [column], ["id"], ondelete="CASCADE")
    op.drop_index("ix_prompt_deletions_tenant", table_name="prompt_deletions")
    op.drop_table("prompt_deletions")
    op.drop_table("prompt_names")
    for table in reversed(ARCHIVABLE):
        op.drop_column(table, "archived_by")
        op.drop_column(table, "archived_at")
