"""Where a result came from: `api` (a run through the API) or `playground` (a run from the web UI's playground), so
result pages can mark what a person tried by hand. Existing rows are API runs.

Revision ID: 0012_playground_results
Revises: 0011_archive
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_playground_results"
down_revision = "0011_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server default fills the existing rows in one statement (no table rewrite on PostgreSQL 11+).
    with op.batch_alter_table("prompt_results") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="api"))


def downgrade() -> None:
    with op.batch_alter_table("prompt_results") as batch:
        batch.drop_column("source")
