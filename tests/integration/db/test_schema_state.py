"""A database whose schema is behind this code is never served: startup refuses (or migrates, with auto-migrate on),
/readyz says so with 503, and the CLI prints one line. On real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.db.engine import create_engine
from service.db.migrate import SchemaBehind, downgrade, head_revision, upgrade
from service.settings import Settings


def _prompter(*args: str, db_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PROMPTER_", "OTEL_", "METRICS_", "REDIS_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env={**base, "DB_URL": db_url, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _migrate_to(db_url: str, revision: str, *, down: bool = False) -> None:
    engine = create_engine(Settings(db_url=db_url), for_migrations=True)
    try:
        await (downgrade if down else upgrade)(engine, revision)
    finally:
        await engine.dispose()


def test_unmigrated_database_with_auto_migrate_off_refuses_to_start(pg_url: str) -> None:
    app = create_app(Settings(db_url=pg_url, db_auto_migrate=False))
    with pytest.raises(BaseException) as refused:
        with TestClient(app):
            pass
    error = refused.value
    while isinstance(error, BaseExceptionGroup):  # the TestClient's task group wraps the lifespan's error
        error = error.exceptions[0]
    assert isinstance(error, SchemaBehind)
    assert "none (never migrated)" in str(error) and "run `prompter migrate`" in str(error)


def test_auto_migrate_on_migrates_and_reports_a_current_schema(pg_url: str) -> None:
    with TestClient(create_app(Settings(db_url=pg_url, db_auto_migrate=True))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["schema"] == "current" and ready.json()["schema_revision"] == head_revision()


def test_readyz_is_503_when_the_schema_falls_behind_while_running(pg_url: str) -> None:
    with TestClient(create_app(Settings(db_url=pg_url, db_auto_migrate=True))) as client:
        assert client.get("/readyz").status_code == 200
        asyncio.run(_migrate_to(pg_url, "-1", down=True))  # someone downgrades under the running app
        behind = client.get("/readyz")
        assert behind.status_code == 503 and behind.headers["retry-after"]
        body = behind.json()
        assert body["status"] == "unavailable" and body["database"] == "up" and body["schema"] == "behind"
        assert body["schema_head"] == head_revision() and body["schema_revision"] != head_revision()
        asyncio.run(_migrate_to(pg_url, "head"))
        assert client.get("/readyz").json()["schema"] == "current"


def test_cli_on_an_unmigrated_database_prints_one_line(pg_url: str) -> None:
    result = _prompter("keys", "create", "--org", "o", "--workspace", "w", "--role", "write", db_url=pg_url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "UndefinedTable" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "run `prompter migrate`" in lines[0]
    # and after `prompter migrate` the same command works
    assert _prompter("migrate", db_url=pg_url).returncode == 0
    created = _prompter("keys", "create", "--org", "o", "--workspace", "w", "--role", "write", db_url=pg_url)
    assert created.returncode == 0, created.stderr
    assert "api key:" in created.stdout
