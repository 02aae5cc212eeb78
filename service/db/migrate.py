"""Apply Alembic migrations programmatically (used by `prompter migrate` and by auto-migrate at startup), and tell
where a database's schema stands against this code's head revision.

Concurrent migrations are serialised: on PostgreSQL the migration transaction first takes a transaction-level advisory
lock, so of five replicas started at once on a fresh database one migrates and four wait, then find the schema at head
and do nothing. Without it two or more ran the same DDL together and died on DuplicateTable / UniqueViolation.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.settings import Settings

log = logging.getLogger("prompter.db")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key: any fixed bigint no other code uses; "prompter" in ASCII.
MIGRATION_LOCK_KEY = 0x70726F6D70746572
# Longest wait for another process's migration (or for a table lock the DDL needs) before giving up with an error.
MIGRATION_LOCK_WAIT_S = 120


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _run(engine, command.downgrade, revision)


async def _run(engine: AsyncEngine, alembic_command: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command on one of the engine's connections (env.py takes it from config.attributes)."""

    def run_sync(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # One migrator at a time; released by the commit or rollback that ends this transaction. A migration is
            # DDL, not a request: the request statement_timeout does not apply, a bounded lock wait does.
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            connection.execute(text(f"SET LOCAL lock_timeout = '{MIGRATION_LOCK_WAIT_S}s'"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config = alembic_config()
        config.attributes["connection"] = connection
        alembic_command(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run_sync)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_read)


@functools.cache
def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def migrate(settings: Settings) -> None:
    """Upgrade the database in DB_URL to head on an engine of its own: no request timeouts, no pool kept."""
    from service.db.engine import create_engine

    engine = create_engine(settings, for_migrations=True)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


SchemaStatus = Literal["current", "behind", "newer"]


@dataclass(frozen=True, slots=True)
class SchemaState:
    revision: str | None  # None: never migrated
    head: str | None
    status: SchemaStatus  # newer: a revision this code does not know (a newer release migrated the database)

    @property
    def behind(self) -> bool:
        return self.status == "behind"

    def explain(self) -> str:
        return (
            f"the database schema is at revision {self.revision or 'none (never migrated)'}, this version needs "
            f"{self.head}: run `prompter migrate` (or set PROMPTER_DB_AUTO_MIGRATE=true)"
        )


@functools.cache
def _known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def classify(revision: str | None) -> SchemaState:
    head = head_revision()
    if revision == head:
        return SchemaState(revision, head, "current")
    if revision is None or revision in _known_revisions():
        return SchemaState(revision, head, "behind")
    return SchemaState(revision, head, "newer")


async def schema_state(engine: AsyncEngine) -> SchemaState:
    return classify(await current_revision(engine))


class SchemaBehind(RuntimeError):
    """The database is older than this code and auto-migrate is off: serving would answer 500 on every table."""


async def prepare_schema(settings: Settings, engine: AsyncEngine) -> SchemaState:
    """At startup: migrate (auto-migrate on) or refuse a schema that is behind; a newer one is served with a warning
    (a rolling deploy whose new release migrated first: migrations only add, so the old code still works)."""
    if settings.db.auto_migrate:
        await migrate(settings)
    state = await schema_state(engine)
    if state.behind:
        raise SchemaBehind(state.explain())
    if state.status == "newer":
        log.warning(
            "database schema revision %s is newer than this version knows (head %s): serving anyway",
            state.revision,
            state.head,
        )
    return state
