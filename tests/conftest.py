"""Shared fixtures. Each names what it provides: `sqlite_url`, `pg_server_url`, `pg_url`, `redis_url`, `make_client`.

A test that needs a server it cannot get fails when CI is set (a missing service is a failure there) and skips with
the reason elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.settings import Settings
from tests.support import template_db

# Session hooks: a run that writes into the checkout fails (`git status --porcelain` must not change).
from tests.support.checkout import pytest_sessionfinish, pytest_sessionstart  # noqa: F401
from tests.support.postgres import ThrowawayPostgres, can_connect, shared_server_url
from tests.support.redis_server import RedisServer

IN_CI = bool(os.environ.get("CI"))


def need(reason: str) -> None:
    """A required server is missing: fail in CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"required test service missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/prompter.db"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL server's admin URL (the machine's, or a throwaway cluster started for this session)."""
    url = shared_server_url()
    if url is not None:
        yield url
        return
    try:
        server = ThrowawayPostgres().start()
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        need(f"no PostgreSQL reachable and a throwaway one could not start: {exc}")
        return
    try:
        assert can_connect(server.url)
        yield server.url
    finally:
        server.stop()


async def _admin(server_url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _with_database(server_url: str, database: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database per test (migrations are applied by the app or by the test)."""
    name = f"prompter_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(pg_server_url, name)
    finally:
        asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_db.migrate_sqlite_file(tmp_path_factory.mktemp("template") / "prompter.db")


@pytest.fixture
def migrated_sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A SQLite file already at the migrations' head: a copy of one migrated per session (see tests/support/template_db.py)."""
    return template_db.copy_sqlite_file(_sqlite_template, tmp_path / "migrated.db")


@pytest.fixture(scope="session")
def _pg_template(pg_server_url: str) -> Iterator[str]:
    name = f"prompter_tpl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
    try:
        template_db.migrate_pg_database(_with_database(pg_server_url, name))
        yield name
    finally:
        asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def migrated_pg_url(pg_server_url: str, _pg_template: str) -> Iterator[str]:
    """A PostgreSQL database already at the migrations' head: CREATE DATABASE ... TEMPLATE of one migrated per session."""
    name = f"prompter_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"'))
    try:
        yield _with_database(pg_server_url, name)
    finally:
        asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _throwaway_redis() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except Exception as exc:  # noqa: BLE001
        need(f"redis-server could not start: {exc}")
        return
    try:
        yield server
    finally:
        if server.process is not None:
            server.process.send_signal(signal.SIGCONT)  # a SIGSTOPped server would not act on SIGTERM
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway redis-server for this test session (tests never touch the machine's shared Redis)."""
    yield from _throwaway_redis()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server only this test uses, so it may stop, pause or restart it."""
    yield from _throwaway_redis()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture
def make_client(sqlite_url: str, _sqlite_template: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a started app and its TestClient: make_client(db_url=..., **settings_overrides, app_kwargs={...}).

    Without db_url it serves `sqlite_url`, which starts as a copy of the session's migrated template (no migrations
    per test); a given db_url is migrated at startup as before."""
    clients: list[TestClient] = []

    def build(*, app_kwargs: dict[str, Any] | None = None, **overrides: Any) -> TestClient:
        if "db_url" not in overrides:
            path = Path(sqlite_url.removeprefix("sqlite:///"))
            if not path.exists():
                template_db.copy_sqlite_file(_sqlite_template, path)
            overrides["db_url"] = sqlite_url
            overrides.setdefault("db_auto_migrate", False)  # at head already: startup only checks the revision
        overrides.setdefault("db_auto_migrate", True)
        app = create_app(Settings(**overrides), **(app_kwargs or {}))
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """The app on SQLite with the fake LLM, no Redis, telemetry on (Prometheus registry only)."""
    return make_client()
