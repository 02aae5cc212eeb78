"""`python -m bench.observations_ingest`: observation ingest throughput on PostgreSQL, batches of 100.

One `prompter serve` process (PostgreSQL, metrics on, auth off) on a fresh database; a prompt with a version and two
labels. C concurrent senders POST /api/observations batches of B observations (unique ids, the labelled version's own
identity plus one observation in 50 with a new identity) for D seconds, while another task moves a label every 100 ms
and runs nothing else: its latency shows whether ingest holds locks a label move waits for.

Reported: observations accepted per second (target 5 000), the server process's CPU per observation (user + system
from /proc; PostgreSQL's own CPU is not included), batch latency p50 / p95, and label-move latency p50 / max.

    python -m bench.observations_ingest [--seconds 10] [--concurrency 4] [--batch 100] [--pg-url URL] [--json out.json]
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

TENANT = {"org_id": "bench", "workspace_id": "ingest"}


def seed(base_url: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        template = http.post("/api/prompt-templates", json={**TENANT, "name": "greet", "body": "Hi {{ who }}"})
        template.raise_for_status()
        version = http.post(
            f"/api/prompt-templates/{template.json()['id']}/ensure-version",
            json={"provider": "openai", "model_id": "gpt-4o"},
        )
        version.raise_for_status()
        for label in ("production", "canary"):
            moved = http.put(f"/api/prompts/greet/labels/{label}", json={**TENANT, "version_id": version.json()["id"]})
            moved.raise_for_status()
        return version.json()


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0


async def load(base_url: str, version: dict[str, Any], seconds: float, concurrency: int, batch: int) -> dict[str, Any]:
    captured = dict(version["captured"])
    drifted = {**captured, "system_fingerprint": "fp_bench_new"}
    accepted = 0
    batch_ms: list[float] = []
    move_ms: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency + 1)

    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def sender(worker: int) -> None:
            nonlocal accepted
            sequence = 0
            while time.perf_counter() < deadline:
                items = []
                for _ in range(batch):
                    sequence += 1
                    items.append(
                        {
                            "id": f"w{worker}-{sequence}",
                            "prompt": "greet",
                            "label": "production",
                            "provider": "openai",
                            "model_id": "gpt-4o",
                            "reported": drifted if sequence % 50 == 0 else captured,
                            "latency_ms": 100.0 + sequence % 400,
                            "usage": {"input_tokens": 12, "output_tokens": 40},
                            "finish_reason": "stop",
                        }
                    )
                started = time.perf_counter()
                response = await http.post("/api/observations", json={**TENANT, "items": items})
                batch_ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                accepted += response.json()["accepted"]

        async def mover() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                body = {**TENANT, "version_id": version["id"], "reason": "bench"}
                (await http.put("/api/prompts/greet/labels/canary", json=body)).raise_for_status()
                move_ms.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.1)

        started = time.perf_counter()
        await asyncio.gather(*(sender(i) for i in range(concurrency)), mover())
        elapsed = time.perf_counter() - started
    return {
        "elapsed_s": round(elapsed, 2),
        "accepted": accepted,
        "batch_ms_p50": _quantile(batch_ms, 0.5),
        "batch_ms_p95": _quantile(batch_ms, 0.95),
        "label_move_ms_p50": _quantile(move_ms, 0.5),
        "label_move_ms_max": round(max(move_ms), 2) if move_ms else 0.0,
        "label_moves": len(move_ms),
    }


def run(pg_url: str, seconds: float, concurrency: int, batch: int) -> dict[str, Any]:
    databases = PostgresDatabases(pg_url)
    workdir = Path(tempfile.mkdtemp(prefix="prompter-bench-ingest-"))
    server = None
    try:
        env = {
            "DB_URL": databases.create("ingest"),
            "PROMPTER_DB_AUTO_MIGRATE": "true",
            "PROMPTER_LOG_LEVEL": "WARNING",
        }
        server = PrompterServer("ingest-bench", env, workdir)
        server.wait_ready()
        version = seed(server.base_url)
        cpu_before = server.process.cpu_seconds()
        result = asyncio.run(load(server.base_url, version, seconds, concurrency, batch))
        cpu = server.process.cpu_seconds() - cpu_before
        result.update(
            server="prompter serve (1 process), PostgreSQL, metrics on, auth off",
            batch=batch,
            concurrency=concurrency,
            observations_per_s=round(result["accepted"] / result["elapsed_s"]),
            server_cpu_s=round(cpu, 2),
            server_cpu_us_per_observation=round(cpu / max(result["accepted"], 1) * 1e6, 1),
        )
        return result
    finally:
        if server is not None:
            server.stop()
        databases.drop_all()


def lines(result: dict[str, Any]) -> list[str]:
    return [
        "",
        "## Observation ingest (bench/observations_ingest.py)",
        "",
        f"{result['server']}; {result['concurrency']} concurrent senders, batches of {result['batch']}, "
        f"{result['elapsed_s']} s, a label moved every 100 ms meanwhile (target 5 000 observations/s):",
        "",
        "| observations/s | server CPU µs / observation | batch p50 ms | batch p95 ms | label move p50 ms | max ms |",
        "|---|---|---|---|---|---|",
        f"| {result['observations_per_s']:,} | {result['server_cpu_us_per_observation']} | {result['batch_ms_p50']} | "
        f"{result['batch_ms_p95']} | {result['label_move_ms_p50']} | {result['label_move_ms_max']} |",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.observations_ingest", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    result = run(args.pg_url, args.seconds, args.concurrency, args.batch)
    print("\n".join(lines(result)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
