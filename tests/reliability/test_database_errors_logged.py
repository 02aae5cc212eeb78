"""A 503 `database_unavailable` is logged with its cause: the driver's error class and message (`database is locked`,
`canceling statement due to statement timeout`), never the statement's parameters (customer data)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from typing import Any

import asyncpg
import httpx
import pytest

SECRET = "customer-text-4f1c9a"  # in the request body: must reach no log line
TEMPLATE = {"org_id": "acme", "workspace_id": "ops", "name": "greet", "body": f"Hello {{{{ who }}}} {SECRET}"}


def unavailable_logs(stderr: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line["msg"].startswith("database unavailable")]


def test_sqlite_lock_timeout_503_names_the_driver_error(make_client, sqlite_url, capsys):
    """Another process holds SQLite's write lock past busy_timeout (5 s): the log says `database is locked`."""
    client = make_client()
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    capsys.readouterr()
    try:
        writer.execute("BEGIN IMMEDIATE")
        response = client.post("/api/prompt-templates", json=TEMPLATE)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 503 and response.json()["error"] == "database_unavailable", response.text
    stderr = capsys.readouterr().err
    (line,) = unavailable_logs(stderr)
    assert line["level"] == "warning"
    assert "sqlite3.OperationalError: database is locked" in line["msg"], line
    assert SECRET not in stderr


@pytest.mark.slow
def test_postgres_statement_timeout_503_names_the_driver_error(pg_url, live_server, capsys):
    """A table lock held elsewhere outlasts PROMPTER_DB_STATEMENT_TIMEOUT_S: PostgreSQL cancels the INSERT (57014)."""
    server = live_server(db_url=pg_url, db_pool_size=2, db_statement_timeout_s=0.5)

    async def scenario() -> httpx.Response:
        locker = await asyncpg.connect(pg_url)
        try:
            async with locker.transaction():
                await locker.execute("LOCK TABLE prompt_templates IN ACCESS EXCLUSIVE MODE")
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                    return await http.post("/api/prompt-templates", json=TEMPLATE)
        finally:
            await locker.close()

    capsys.readouterr()
    started = time.monotonic()
    response = asyncio.run(scenario())
    assert response.status_code == 503 and response.json()["error"] == "database_unavailable", response.text
    assert time.monotonic() - started < 10
    stderr = capsys.readouterr().err
    lines = unavailable_logs(stderr)
    assert lines, stderr[-2000:]
    assert "QueryCanceledError: canceling statement due to statement timeout" in lines[0]["msg"], lines
    assert SECRET not in stderr
