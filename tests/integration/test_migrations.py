"""The Alembic migrations, on SQLite and on the real PostgreSQL: they build exactly the models' schema and undo it."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service.db.engine import create_engine
from service.db.migrate import current_revision, downgrade, head_revision, upgrade
from service.db.models import Base
from service.settings import Settings

TABLES = {
    "prompt_templates",
    "prompt_versions",
    "prompt_results",
    "api_keys",
    "prompt_labels",
    "prompt_label_events",
    "idempotency_keys",
    "ui_sessions",
    "observations",
    "prompt_names",
    "prompt_deletions",
    "webhook_subjects",
    "webhook_events",
    "webhook_endpoints",
    "webhook_deliveries",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


async def _tables_and_diff(engine):
    def inspect_sync(connection):
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        return tables, diff

    async with engine.connect() as conn:
        return await conn.run_sync(inspect_sync)


def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(db_url):
    async def scenario():
        engine = create_engine(Settings(db_url=db_url))
        try:
            await upgrade(engine)
            assert await current_revision(engine) == head_revision()
            tables, diff = await _tables_and_diff(engine)
            assert tables == TABLES
            assert diff == [], f"models and migrations disagree: {diff}"

            await downgrade(engine, "base")
            tables, _ = await _tables_and_diff(engine)
            assert tables == set()

            await upgrade(engine)  # and it can be applied again
            assert await current_revision(engine) == head_revision()
        finally:
            await engine.dispose()

    asyncio.run(scenario())


def test_upgrade_is_idempotent(db_url):
    async def scenario():
        engine = create_engine(Settings(db_url=db_url))
        try:
            await upgrade(engine)
            await upgrade(engine)
            assert await current_revision(engine) == head_revision()
        finally:
            await engine.dispose()

    asyncio.run(scenario())
