"""Migration 0011_archive on a database filled under the previous schema, on SQLite (where prompt_results is copied)
and on the real PostgreSQL: every result row survives with every column, nothing is archived, the results' foreign
keys now let a deleted prompt's results stay (SET NULL), and the downgrade puts the old schema back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from service.db.engine import create_engine
from service.db.migrate import current_revision, downgrade, upgrade
from service.settings import Settings
from tests.integration.test_migration_chat_bundle import _fill_previous_schema

PREVIOUS = "0010_webhooks"
RESULT_COLUMNS = "id, template_id, version_id, pvk, output, rendered_prompt, variables, latency_ms, created_at"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


def test_results_survive_the_copy_and_then_outlive_their_prompt(db_url):
    async def migrate() -> None:
        engine = create_engine(Settings(db_url=db_url))
        try:
            await upgrade(engine, "0006_ui_sessions")
            await _fill_previous_schema(engine)
            await upgrade(engine, PREVIOUS)
            async with engine.connect() as conn:
                before = (await conn.execute(text(f"SELECT {RESULT_COLUMNS} FROM prompt_results"))).all()
            await upgrade(engine, "0011_archive")
            assert await current_revision(engine) == "0011_archive"
            async with engine.begin() as conn:
                after = (await conn.execute(text(f"SELECT {RESULT_COLUMNS} FROM prompt_results"))).all()
                assert after == before and len(after) == 1
                archived = await conn.execute(
                    text("SELECT archived_at FROM prompt_templates UNION ALL SELECT archived_at FROM prompt_versions")
                )
                assert [row[0] for row in archived] == [None, None]
                # The database itself now keeps a result whose prompt goes (the service also detaches them first).
                await conn.execute(text("DELETE FROM prompt_labels"))
                await conn.execute(text("DELETE FROM prompt_versions"))
                await conn.execute(text("DELETE FROM prompt_templates"))
                kept = (await conn.execute(text("SELECT template_id, version_id, output FROM prompt_results"))).all()
                assert kept == [(None, None, "Hi")]
            await downgrade(engine, PREVIOUS)  # drops the results that belong to no prompt any more
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT count(*) FROM prompt_results"))).scalar() == 0
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
