"""Split labels and rollouts: a label may point at a weighted split of versions with a rollout policy; label events
keep the split they set and the numbers behind a rollout decision; runs and observations record the arm they used.

Revision ID: 0009_splits_rollouts
Revises: 0008_observations
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_splits_rollouts"
down_revision = "0008_observations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prompt_labels") as batch:
        batch.add_column(sa.Column("split", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("rollout", sa.JSON(), nullable=True))
    with op.batch_alter_table("prompt_label_events") as batch:
        batch.add_column(sa.Column("split", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
    with op.batch_alter_table("prompt_results") as batch:
        batch.add_column(sa.Column("variant", sa.SmallInteger(), nullable=True))
    with op.batch_alter_table("observations") as batch:
        batch.add_column(sa.Column("variant", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("variant")
    with op.batch_alter_table("prompt_results") as batch:
        batch.drop_column("variant")
    with op.batch_alter_table("prompt_label_events") as batch:
        batch.drop_column("details")
        batch.drop_column("split")
    with op.batch_alter_table("prompt_labels") as batch:
        batch.drop_column("rollout")
        batch.drop_column("split")
