"""Alembic environment. Runs on a connection handed in by service.db.migrate (sync inside the async engine's run_sync)."""

from __future__ import annotations

from alembic import context

from service.db.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "Run migrations through `prompter migrate` (service.db.migrate), which supplies the connection."
        )
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("Offline SQL generation is not supported; run `prompter migrate`.")
run_migrations_online()
