"""Every way `prompter serve` can fail to start is one readable line on stderr saying what is wrong and how to fix it,
and a non-zero exit code: no traceback, no ExceptionGroup, no JSON log line with a stack packed into it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import asyncpg
import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.slow


def _serve(db_url: str, *, port: int | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PROMPTER_", "OTEL_", "METRICS_", "REDIS_URL"))}
    port = port or free_port()
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**base, "DB_URL": db_url, **env},
        capture_output=True,
        text=True,
        timeout=120,  # a failure to start must not turn into a server that runs: that would be a hang here
    )


def _assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode not in (0, None), result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    for banned in ("Traceback", "ExceptionGroup", '"exc_info"', "{"):
        assert banned not in line, line
    for fragment in fragments:
        assert fragment in line, line
    return line


def test_unsupported_database_url(tmp_path) -> None:
    line = _assert_one_line(_serve("mysql://x"), "DB_URL='mysql://x' is refused", "postgresql://")
    assert line.startswith("prompter: configuration refused:")


def test_sqlite_file_in_a_missing_directory(tmp_path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    _assert_one_line(_serve(f"sqlite:///{missing}/prompter.db"), f"the directory {missing} does not exist")


def test_unreachable_database() -> None:
    closed = free_port()  # nothing listens there
    _assert_one_line(
        _serve(f"postgresql://prompter:secret@127.0.0.1:{closed}/prompter", PROMPTER_DB_AUTO_MIGRATE="true"),
        "cannot use the database at DB_URL=postgresql://prompter:***@127.0.0.1",
        "check that the database server runs",
    )


def _admin(url: str, statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.mark.parametrize("auto_migrate", ["true", "false"])
def test_read_only_database(pg_url: str, auto_migrate: str) -> None:
    if auto_migrate == "false":
        assert (
            subprocess.run(
                [sys.executable, "-m", "service.cli", "migrate"], env={**os.environ, "DB_URL": pg_url}
            ).returncode
            == 0
        )
    name = pg_url.rpartition("/")[2]
    _admin(pg_url, f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    _assert_one_line(_serve(pg_url, PROMPTER_DB_AUTO_MIGRATE=auto_migrate), "read-only")


def test_schema_behind_with_auto_migrate_off(pg_url: str) -> None:
    _assert_one_line(
        _serve(pg_url, PROMPTER_DB_AUTO_MIGRATE="false"), "none (never migrated)", "run `prompter migrate`"
    )


def test_port_in_use(sqlite_url: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        _assert_one_line(_serve(sqlite_url, port=port), f"port {port} on 127.0.0.1 is already in use", "--port")


def test_a_bad_setting(sqlite_url: str) -> None:
    _assert_one_line(_serve(sqlite_url, PROMPTER_AUTH="true"), "PROMPTER_AUTH='true' is refused", "`required`")
