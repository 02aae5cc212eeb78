"""Chat prompts and the prompt bundle: template type, messages and input_schema; a version's tools, tool_choice and
response_format; a result's rendered messages, tool calls, structured output and schema check.

Existing templates become `type = 'text'` (the server default) with everything else null: their body, content hash,
variables, versions and pvks are untouched.

Revision ID: 0007_chat_bundle
Revises: 0005_idempotency_keys
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_chat_bundle"
down_revision = "0006_ui_sessions"
branch_labels = None
depends_on = None

TEMPLATE_COLUMNS = ("messages", "input_schema")
VERSION_COLUMNS = ("tools", "tool_choice", "response_format")
RESULT_JSON_COLUMNS = ("rendered_messages", "tool_calls", "structured_output")


# Plain ALTER TABLE ADD/DROP COLUMN on both backends (SQLite >= 3.35 drops columns natively): no batch table copy,
# whose DROP TABLE would cascade-delete the versions and results of every template on SQLite.


def upgrade() -> None:
    op.add_column("prompt_templates", sa.Column("type", sa.String(8), nullable=False, server_default="text"))
    for name in TEMPLATE_COLUMNS:
        op.add_column("prompt_templates", sa.Column(name, sa.JSON(), nullable=True))
    for name in VERSION_COLUMNS:
        op.add_column("prompt_versions", sa.Column(name, sa.JSON(), nullable=True))
    for name in RESULT_JSON_COLUMNS:
        op.add_column("prompt_results", sa.Column(name, sa.JSON(), nullable=True))
    op.add_column("prompt_results", sa.Column("schema_valid", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("prompt_results", "schema_valid")
    for name in reversed(RESULT_JSON_COLUMNS):
        op.drop_column("prompt_results", name)
    for name in reversed(VERSION_COLUMNS):
        op.drop_column("prompt_versions", name)
    for name in reversed(TEMPLATE_COLUMNS):
        op.drop_column("prompt_templates", name)
    op.drop_column("prompt_templates", "type")
