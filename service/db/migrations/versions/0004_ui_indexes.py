"""Indexes the web UI's pages read through: a prompt's newest run and its last-24-hours activity.

`max(created_at)` per template (the prompt list's "last run") and the activity chart's 24 h window of one prompt
(runs per hour, latencies for p95) are each one range read of (template_id, created_at, latency_ms), an index that
covers them, instead of a walk over every result of the template.

Revision ID: 0004_ui_indexes
Revises: 0003_labels
Create Date: 2026-12-01
"""

from alembic import op

revision = "0004_ui_indexes"
down_revision = "0003_labels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_prompt_results_template_created", "prompt_results", ["template_id", "created_at", "latency_ms"])


def downgrade() -> None:
    op.drop_index("ix_prompt_results_template_created", table_name="prompt_results")
