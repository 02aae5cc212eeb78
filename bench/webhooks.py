"""`python -m bench.webhooks`: does webhook delivery slow label moves? p50 / p99 of label moves with no endpoint, with
a healthy receiver and with a receiver that accepts connections and never answers (every delivery slot then hangs
until PROMPTER_WEBHOOK_TIMEOUT_S).

One `prompter serve` process per run (fresh database: SQLite file, or PostgreSQL when --pg-url answers), metrics on,
auth off; a prompt with two versions; C concurrent movers each move their own label back and forth N times. The
receivers are tests/support/webhook_receiver.py's real HTTP server on 127.0.0.1 (allowed by
PROMPTER_WEBHOOK_ALLOWED_HOSTS). Nothing is asserted: the numbers are for reading beside each other.

    python -m bench.webhooks [--moves 200] [--concurrency 4] [--pg-url URL] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.servers import PostgresDatabases, PrompterServer
from tests.support.webhook_receiver import WebhookReceiver

TENANT = {"org_id": "bench", "workspace_id": "hooks"}
RECEIVERS = ("none", "healthy", "hanging")


def seed(base_url: str, receiver_url: str | None) -> list[int]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        if receiver_url is not None:
            http.post("/api/webhooks", json={**TENANT, "url": receiver_url}).raise_for_status()
        template = http.post("/api/prompt-templates", json={**TENANT, "name": "greet", "body": "Hi {{ who }}"})
        template.raise_for_status()
        versions = []
        for temperature in (0.1, 0.2):
            version = http.post(
                f"/api/prompt-templates/{template.json()['id']}/ensure-version",
                json={"provider": "openai", "model_id": "gpt-4o", "params": {"temperature": temperature}},
            )
            version.raise_for_status()
            versions.append(version.json()["id"])
        return versions


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0


async def move_labels(base_url: str, versions: list[int], moves: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def mover(worker: int) -> None:
            for i in range(moves):
                body = {**TENANT, "version_id": versions[i % 2]}
                started = time.perf_counter()
                (await http.put(f"/api/prompts/greet/labels/l{worker}", json=body)).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(mover(w) for w in range(concurrency)))
    return latencies


def run_one(db_url: str, receiver_kind: str, moves: int, concurrency: int, workdir: Path) -> dict[str, Any]:
    receiver = WebhookReceiver().start()
    receiver.hang = receiver_kind == "hanging"
    server = None
    try:
        env = {
            "DB_URL": db_url,
            "PROMPTER_DB_AUTO_MIGRATE": "true",
            "PROMPTER_LOG_LEVEL": "WARNING",
            "PROMPTER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        }
        server = PrompterServer(f"webhooks-{receiver_kind}", env, workdir)
        server.wait_ready()
        versions = seed(server.base_url, None if receiver_kind == "none" else receiver.url)
        latencies = asyncio.run(move_labels(server.base_url, versions, moves, concurrency))
        return {
            "receiver": receiver_kind,
            "moves": len(latencies),
            "p50_ms": _quantile(latencies, 0.5),
            "p99_ms": _quantile(latencies, 0.99),
            "max_ms": round(max(latencies), 2),
            "delivered": len(receiver.events()),
            "held_by_hanging_receiver": receiver.hung,
        }
    finally:
        receiver.release()
        if server is not None:
            server.stop()
        receiver.stop()


def run(pg_url: str | None, moves: int, concurrency: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="prompter-bench-webhooks-"))
    databases = PostgresDatabases(pg_url) if pg_url else None
    backends: list[tuple[str, Any]] = [("sqlite", lambda kind: f"sqlite:///{workdir}/{kind}.db")]
    if databases is not None and databases.available():
        backends.append(("postgresql", lambda kind: databases.create(f"hooks_{kind}")))
    rows = []
    try:
        for backend, make_url in backends:
            for kind in RECEIVERS:
                row = run_one(make_url(kind), kind, moves, concurrency, workdir)
                rows.append({"database": backend, **row})
    finally:
        if databases is not None:
            databases.drop_all()
    return {"moves_per_mover": moves, "concurrency": concurrency, "rows": rows}


def lines(result: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Label moves beside webhook delivery (bench/webhooks.py)",
        "",
        f"`prompter serve` (1 process), {result['concurrency']} concurrent movers x {result['moves_per_mover']} moves "
        "each; one endpoint (none / a healthy receiver / one that never answers):",
        "",
        "| database | receiver | moves | p50 ms | p99 ms | max ms | delivered | requests held |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        out.append(
            f"| {row['database']} | {row['receiver']} | {row['moves']} | {row['p50_ms']} | {row['p99_ms']} | "
            f"{row['max_ms']} | {row['delivered']} | {row['held_by_hanging_receiver']} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--moves", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    result = run(args.pg_url, args.moves, args.concurrency)
    print("\n".join(lines(result)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
