"""Migration 0007_chat_bundle on a database filled under the previous schema, on SQLite and on the real PostgreSQL:
existing templates become text templates, their versions keep their params and pvks, their results stay, and the
service reads them exactly as before (the resolved prompt's bytes, hence its ETag, unchanged)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from service.db.engine import create_engine
from service.db.migrate import current_revision, downgrade, upgrade
from service.settings import Settings

PREVIOUS = "0006_ui_sessions"  # the revision just before chat prompts
PVK = "sha256:" + "ab" * 32
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


async def _fill_previous_schema(engine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO prompt_templates (id, org_id, workspace_id, name, description, body, variables, "
                "content_hash, revision, created_at) VALUES (1, 'acme', 'w', 'greet', NULL, 'Hello {{ name }}!', "
                ":variables, :hash, 1, :now)"
            ),
            {"variables": json.dumps(["name"]), "hash": "sha256:" + "cd" * 32, "now": NOW},
        )
        await conn.execute(
            text(
                "INSERT INTO prompt_versions (id, template_id, provider, model_id, params, params_hash, captured, pvk, "
                "drift, created_at) VALUES (1, 1, 'openai', 'gpt-4o', :params, :ph, :captured, :pvk, false, :now)"
            ),
            {
                "params": json.dumps({"temperature": 0.2}),
                "ph": "sha256:" + "ef" * 32,
                "captured": json.dumps({"system_fingerprint": "fp_1", "model": "gpt-4o"}),
                "pvk": PVK,
                "now": NOW,
            },
        )
        await conn.execute(
            text(
                "INSERT INTO prompt_results (id, template_id, version_id, pvk, provider, model_id, variables, "
                "rendered_prompt, output, system_fingerprint, provider_metadata, input_tokens, output_tokens, "
                "latency_ms, trace_id, label, identity_matches_label, created_at) VALUES (1, 1, 1, :pvk, 'openai', "
                "'gpt-4o', :vars, 'Hello Ada!', 'Hi', 'fp_1', '{}', 2, 1, 3.5, NULL, NULL, NULL, :now)"
            ),
            {"pvk": PVK, "vars": json.dumps({"name": "Ada"}), "now": NOW},
        )
        await conn.execute(
            text(
                "INSERT INTO prompt_labels (id, org_id, workspace_id, name, label, version_id, updated_at, updated_by) "
                "VALUES (1, 'acme', 'w', 'greet', 'production', 1, :now, 'anonymous')"
            ),
            {"now": NOW},
        )
        if conn.dialect.name == "postgresql":  # explicit ids: move the identity sequences past them
            for table in ("prompt_templates", "prompt_versions", "prompt_results", "prompt_labels"):
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)"))


def test_existing_rows_become_text_prompts_and_nothing_else_changes(db_url, make_client):
    async def migrate() -> None:
        engine = create_engine(Settings(db_url=db_url))
        try:
            await upgrade(engine, PREVIOUS)
            await _fill_previous_schema(engine)
            await upgrade(engine, "0007_chat_bundle")
            assert await current_revision(engine) == "0007_chat_bundle"
            async with engine.connect() as conn:
                template = (
                    await conn.execute(text("SELECT type, messages, input_schema, body FROM prompt_templates"))
                ).one()
                version = (
                    await conn.execute(text("SELECT pvk, tools, tool_choice, response_format FROM prompt_versions"))
                ).one()
                result = (
                    await conn.execute(text("SELECT rendered_messages, tool_calls, schema_valid FROM prompt_results"))
                ).one()
            assert tuple(template) == ("text", None, None, "Hello {{ name }}!")
            assert tuple(version) == (PVK, None, None, None)
            assert tuple(result) == (None, None, None)
        finally:
            await engine.dispose()

    asyncio.run(migrate())

    client = make_client(db_url=db_url)
    resolved = client.get("/api/prompts/greet", params={"org_id": "acme", "workspace_id": "w"})
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    # The resolved prompt of a text template carries exactly the fields it always had (same bytes, same ETag).
    assert set(body) == {
        "name",
        "label",
        "template_id",
        "revision",
        "body",
        "variables",
        "version",
        "updated_at",
        "drift",
        "reported",
    }
    assert set(body["version"]) == {"id", "provider", "model_id", "params", "captured", "pvk"}
    assert body["version"]["pvk"] == PVK and body["version"]["params"] == {"temperature": 0.2}
    template = client.get("/api/prompt-templates/1").json()
    assert template["type"] == "text" and template["messages"] is None
    run = client.post(
        "/api/prompts/greet/run", json={"variables": {"name": "Ada"}, "org_id": "acme", "workspace_id": "w"}
    )
    assert run.status_code == 201, run.text
    assert run.json()["rendered_prompt"] == "Hello Ada!" and run.json()["rendered_messages"] is None


def test_downgrade_to_the_previous_schema_keeps_the_rows(db_url):
    async def scenario() -> None:
        engine = create_engine(Settings(db_url=db_url))
        try:
            await upgrade(engine, PREVIOUS)
            await _fill_previous_schema(engine)
            await upgrade(engine)
            await downgrade(engine, PREVIOUS)
            async with engine.connect() as conn:
                counts = [
                    (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                    for table in ("prompt_templates", "prompt_versions", "prompt_results", "prompt_labels")
                ]
            assert counts == [1, 1, 1, 1]
        finally:
            await engine.dispose()

    asyncio.run(scenario())
