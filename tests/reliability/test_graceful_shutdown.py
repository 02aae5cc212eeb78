"""SIGTERM to a real `prompter serve` process while requests are in flight and load keeps coming.

What uvicorn guarantees, and what this checks: on SIGTERM it stops accepting connections, lets every request whose
headers it has already read finish (up to `timeout_graceful_shutdown`, 10 s), closes idle keep-alive connections, then
runs the app's lifespan shutdown (pool disposed, spans and metrics flushed). A request that had not been read yet is
refused (connection refused / closed before any response), and therefore never reaches the app or the database.

To have requests certainly in flight at the signal, the test holds an EXCLUSIVE lock on prompt_results: every run
blocks on its result INSERT until the lock is released after the signal.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import asyncpg
import httpx
import pytest

from tests.support.otlp_receiver import OTLPReceiver
from tests.support.ports import free_port

TEMPLATE = {"org_id": "acme", "workspace_id": "drain", "name": "greet", "body": "Hello {{ who }}"}
IN_FLIGHT = 20
EXIT_BOUND_S = 20.0  # hang detector: drain (< 2 s here) + telemetry flush, far below it normally


def _start_server(db_url: str, port: int, otlp_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DB_URL": db_url,
        "PROMPTER_DB_AUTO_MIGRATE": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url,
        "PROMPTER_LOG_LEVEL": "WARNING",
        "PROMPTER_DB_POOL_SIZE": "15",
    }
    for name in ("REDIS_URL", "PROMPTER_AUTH", "OTEL_SDK_DISABLED", "PROMPTER_TELEMETRY"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.communicate()[0].decode(errors="replace")
            raise RuntimeError(f"prompter serve did not become ready:\n{output[-3000:]}")
        time.sleep(0.1)


async def _scenario(base: str, db_url: str, process: subprocess.Popen[bytes]) -> dict:
    limits = httpx.Limits(max_keepalive_connections=0)  # one connection per request, as many independent clients
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        tid = (await client.post("/api/prompt-templates", json=TEMPLATE)).json()["id"]
        run_path = f"/api/prompt-templates/{tid}/run"
        warm = await client.post(run_path, json={"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "w"}})
        assert warm.status_code == 201, warm.text

        async def run(label: str) -> tuple[str, int | str]:
            try:
                response = await client.post(
                    run_path, json={"provider": "openai", "model_id": "gpt-4o", "variables": {"who": label}}
                )
            except httpx.HTTPError as exc:
                return label, type(exc).__name__
            return label, response.status_code

        locker = await asyncpg.connect(db_url)
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE prompt_results IN EXCLUSIVE MODE")
        in_flight = [asyncio.create_task(run(f"inflight-{i}")) for i in range(IN_FLIGHT)]
        # Wait until every one of them is really blocked on the lock inside the server.
        deadline = time.monotonic() + 10
        while (
            await locker.fetchval(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'prompt_results'::regclass"
            )
            < IN_FLIGHT
        ):
            assert time.monotonic() < deadline, "the in-flight runs never reached the result INSERT"
            await asyncio.sleep(0.05)

        stop_load = asyncio.Event()
        late: list[tuple[str, int | str]] = []

        numbers = itertools.count()

        async def keep_loading() -> None:
            while not stop_load.is_set():
                late.append(await run(f"late-{next(numbers)}"))
                if late[-1][1] != 201:
                    await asyncio.sleep(0.01)  # refused: retry like a client would, without spinning

        loaders = [asyncio.create_task(keep_loading()) for _ in range(4)]
        await asyncio.sleep(0.2)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(1.0)  # the server is draining: new connections are refused meanwhile
        await transaction.rollback()  # release the lock: the blocked INSERTs go through
        await locker.close()
        results = await asyncio.gather(*in_flight)
        exit_code = await asyncio.to_thread(process.wait, EXIT_BOUND_S)
        exited_after = time.monotonic() - signalled
        stop_load.set()
        await asyncio.gather(*loaders)
    return {"tid": tid, "in_flight": results, "late": late, "exit_code": exit_code, "exited_after": exited_after}


def _db_rows(db_url: str, tid: int) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(db_url)
        try:
            return await conn.fetch(
                "SELECT r.variables->>'who' AS who, r.trace_id, r.pvk, v.pvk AS version_pvk FROM prompt_results r "
                "LEFT JOIN prompt_versions v ON v.id = r.version_id WHERE r.template_id = $1",
                tid,
            )
        finally:
            await conn.close()

    return asyncio.run(fetch())


@pytest.mark.slow
def test_sigterm_drains_in_flight_requests_writes_nothing_half_done_and_flushes_telemetry(pg_url):
    port = free_port()
    with OTLPReceiver() as receiver:
        process = _start_server(pg_url, port, receiver.url)
        try:
            outcome = asyncio.run(_scenario(f"http://127.0.0.1:{port}", pg_url, process))
        finally:
            if process.poll() is None:
                process.kill()
            output = process.communicate()[0].decode(errors="replace")

        # 1. Every request accepted before the signal completed normally.
        assert Counter(status for _, status in outcome["in_flight"]) == {201: IN_FLIGHT}, outcome["in_flight"]
        # 2. Requests arriving after it were refused before reaching the app (never a 5xx, never a half answer).
        late_statuses = Counter(status for _, status in outcome["late"])
        assert set(late_statuses) <= {201, "ConnectError", "RemoteProtocolError", "ReadError"}, late_statuses
        # 3. The process exited by itself, cleanly and promptly.
        assert outcome["exit_code"] == 0, output[-3000:]
        assert outcome["exited_after"] < EXIT_BOUND_S
        assert "Traceback" not in output, output[-3000:]

        # 4. The database holds exactly the runs that were answered 201: nothing lost, nothing half-written.
        rows = _db_rows(pg_url, outcome["tid"])
        answered = ["w"] + [label for label, status in outcome["in_flight"] + outcome["late"] if status == 201]
        assert sorted(row["who"] for row in rows) == sorted(answered)
        assert all(row["version_pvk"] == row["pvk"] for row in rows), "a result without its version"

        # 5. Telemetry was flushed at shutdown: the traces of the drained runs reached the collector.
        received = {span.trace_id for span in receiver.spans()}
        drained = {row["trace_id"] for row in rows if row["who"].startswith("inflight-")}
        assert len(drained) == IN_FLIGHT and None not in drained
        assert drained <= received, f"{len(drained - received)} drained runs' traces were never exported"

    print(
        f"\nSIGTERM with {IN_FLIGHT} runs in flight: exit {outcome['exit_code']} after "
        f"{outcome['exited_after']:.2f} s; requests arriving during the drain: {dict(late_statuses)}; "
        f"{len(received)} traces exported"
    )
