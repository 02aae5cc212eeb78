"""Five replicas migrating one fresh PostgreSQL database at once all succeed: the migration transaction takes an
advisory lock first, so they run one after another (the later ones find the schema at head and do nothing).

Before the lock, 1-3 of 5 replicas started together died with DuplicateTable / UniqueViolation. The race itself is
timing-dependent, so this test makes the overlap certain instead: it holds the migration lock, starts five real
`prompter migrate` processes, sees all five queue on the lock (without the lock they would not wait, and race), then
lets them go."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import asyncpg

from service.db.migrate import MIGRATION_LOCK_KEY, head_revision

REPLICAS = 5
WAIT_BOUND_S = 90.0  # hang guard for process start-up on a busy machine, not a performance claim


async def _waiting_on_lock(conn: asyncpg.Connection) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )


def test_five_concurrent_migrations_on_a_fresh_database_all_succeed(pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMPTER_", "OTEL_", "METRICS_", "REDIS_URL"))}
    env["DB_URL"] = pg_url

    async def scenario() -> list[subprocess.Popen[str]]:
        gate = await asyncpg.connect(pg_url, timeout=10)
        try:
            await gate.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            processes = [
                subprocess.Popen(
                    [sys.executable, "-m", "service.cli", "migrate"],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(REPLICAS)
            ]
            deadline = time.monotonic() + WAIT_BOUND_S
            while await _waiting_on_lock(gate) < REPLICAS:
                finished = [p for p in processes if p.poll() is not None]
                assert not finished, "a migration ran without waiting for the lock: " + finished[0].stderr.read()
                assert time.monotonic() < deadline, "the migrations never queued on the advisory lock"
                await asyncio.sleep(0.2)
            await gate.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
            return processes
        finally:
            await gate.close()

    processes = asyncio.run(scenario())
    outcomes = [p.communicate(timeout=WAIT_BOUND_S) for p in processes]
    codes = [p.returncode for p in processes]
    assert codes == [0] * REPLICAS, [err for _, err in outcomes]

    async def revision() -> str:
        conn = await asyncpg.connect(pg_url, timeout=10)
        try:
            return await conn.fetchval("SELECT version_num FROM alembic_version")
        finally:
            await conn.close()

    assert asyncio.run(revision()) == head_revision()
