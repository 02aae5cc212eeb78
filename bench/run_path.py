"""The run path's CPU against the minimal reference app, in process: `python -m bench.run_path`.

Method (as bench/telemetry_cost.py): Prompter (telemetry off, fake provider, SQLite) and bench/reference_app.py (read
one row, insert one) are called in this process over ASGI, alternated request by request in a seeded random order, each
request timed as the CPU time of the whole process (aiosqlite's worker threads included). No HTTP server, no load
generator: other work on the machine hardly moves the figures. Reports each app's mean CPU µs per run with its standard
error and Prompter's ratio (reference CPU / Prompter CPU: throughput at equal CPU), the figure the run-vs-reference
target is judged on. The wrk rows of `python -m bench` (scenario run_vs_reference) measure the same through uvicorn.

`--variants` adds Prompter apps with one run-path change switched off (`no_version_cache`: no (template, pvk) ->
version cache; `no_sequential_di`: Litestar's task group per dependency batch), so each change's share is measured in
the same loop. `--pools` compares 1 run in flight with `--width` (64) at once, per SQLite pool size.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import random
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack, nullcontext
from pathlib import Path
from typing import Any

from bench.asgi_measure import Call

TEMPLATE = json.dumps(
    {"org_id": "m", "workspace_id": "m", "name": "greet", "body": "Hello {{ name }} from {{ team }}!"}
).encode()
RUN = json.dumps(
    {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada", "team": "Prompter"}}
).encode()
REFERENCE_RUN = json.dumps({"name": "Ada"}).encode()
TARGET = 0.75  # Prompter's run at >= 0.75 of the reference app's throughput (by CPU)


async def _prompter(
    stack: AsyncExitStack, db_url: str, *, version_cache: bool = True, sequential_di: bool = True, **overrides: Any
) -> Any:
    from unittest import mock

    from service.app import create_app
    from service.settings import Settings

    settings = Settings(db_url=db_url, db_auto_migrate=True, log_level="WARNING", telemetry="off", **overrides)
    with mock.patch("service.app.resolve_in_sequence", lambda app: 0) if not sequential_di else nullcontext():
        app = create_app(settings)
    await stack.enter_async_context(app.lifespan())
    if not version_cache:
        app.state.runtime.version_cache = None
    status = await Call("POST", "/api/prompt-templates", body=TEMPLATE, expect=201)(app)
    if status != 201:
        raise RuntimeError(f"seeding Prompter answered {status}")
    return app


async def _reference(stack: AsyncExitStack, db_url: str) -> Any:
    from bench.reference_app import create_app

    app = create_app(db_url)
    await stack.enter_async_context(app.lifespan())
    return app


def _stats(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "mean_us": statistics.fmean(samples),
        "se_us": statistics.stdev(samples) / math.sqrt(len(samples)),
        "median_us": statistics.median(samples),
    }


async def measure(runs: int, variants: list[str], work: Path) -> dict[str, dict[str, float]]:
    async with AsyncExitStack() as stack:
        apps: dict[str, tuple[Any, Call]] = {
            "reference": (
                await _reference(stack, f"sqlite+aiosqlite:///{work / 'reference.db'}"),
                Call("POST", "/items/1/run", body=REFERENCE_RUN, expect=201),
            ),
            "prompter": (await _prompter(stack, f"sqlite:///{work / 'prompter.db'}"), _run_call()),
        }
        for variant in variants:
            off = {"no_version_cache": {"version_cache": False}, "no_sequential_di": {"sequential_di": False}}[variant]
            apps[variant] = (await _prompter(stack, f"sqlite:///{work / f'{variant}.db'}", **off), _run_call())
        for key, (app, call) in apps.items():  # warm-up, and a check that every app answers as expected
            for _ in range(max(20, runs // 20)):
                status = await call(app)
            if status != call.expect:
                raise RuntimeError(f"{key} answered {status}, not {call.expect}")
        samples: dict[str, list[float]] = {key: [] for key in apps}
        keys = list(apps)
        clock = time.process_time
        gc.collect()
        order = random.Random(27)
        for _ in range(runs):
            order.shuffle(keys)
            for key in keys:
                app, call = apps[key]
                start = clock()
                await call(app)
                samples[key].append((clock() - start) * 1e6)
    return {key: _stats(values) for key, values in samples.items()}


def _run_call() -> Call:
    return Call("POST", "/api/prompt-templates/1/run", body=RUN, expect=201)


def render(stats: dict[str, dict[str, float]]) -> str:
    ref = stats["reference"]
    lines = ["| app | CPU µs/run | ratio (reference / app) | target |", "|---|---|---|---|"]
    for key, s in stats.items():
        ratio = ref["mean_us"] / s["mean_us"]
        # Standard error of the ratio, first order: relative errors add in quadrature.
        se = ratio * math.hypot(ref["se_us"] / ref["mean_us"], s["se_us"] / s["mean_us"])
        verdict = "" if key != "prompter" else f"≥ {TARGET:.2f}: {'met' if ratio >= TARGET else 'missed'}"
        lines.append(f"| {key} | {s['mean_us']:.0f} ± {s['se_us']:.0f} | {ratio:.3f} ± {se:.3f} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_path", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1500, help="requests per app (default 1500)")
    parser.add_argument("--variants", nargs="*", choices=("no_version_cache", "no_sequential_di"), default=[])
    parser.add_argument(
        "--pools", type=int, nargs="*", default=[], help="also: 1 vs --width runs in flight for these SQLite pool sizes"
    )
    parser.add_argument("--width", type=int, default=64, help="runs in flight for --pools (default 64)")
    parser.add_argument("--blocks", type=int, default=20, help="blocks of --width runs per pool size (default 20)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    document: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="prompter-run-path-") as work:
        if args.runs:
            document["reference"] = stats = asyncio.run(measure(args.runs, args.variants, Path(work)))
            print(render(stats))
        if args.pools:
            results = asyncio.run(concurrency(args.pools, args.blocks, args.width, Path(work)))
            document["concurrency"] = {str(pool): r for pool, r in results.items()}
            print(render_concurrency(results, args.width))
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))
    return 0


async def concurrency(pools: list[int], blocks: int, width: int, work: Path) -> dict[int, dict[str, Any]]:
    """CPU per run with 1 request in flight against `width` in flight, for each SQLite pool size
    (PROMPTER_DB_SQLITE_POOL_SIZE): blocks of `width` runs, one after another then all at once, alternated."""
    async with AsyncExitStack() as stack:
        apps = {
            pool: await _prompter(stack, f"sqlite:///{work / f'pool{pool}.db'}", db_sqlite_pool_size=pool)
            for pool in pools
        }
        call = _run_call()
        for app in apps.values():
            for _ in range(50):
                await call(app)
        serial: dict[int, list[float]] = {pool: [] for pool in apps}
        parallel: dict[int, list[float]] = {pool: [] for pool in apps}
        errors = dict.fromkeys(apps, 0)
        clock = time.process_time
        order = random.Random(27)
        keys = list(apps)
        for _ in range(blocks):
            order.shuffle(keys)
            for pool in keys:
                app = apps[pool]
                start = clock()
                for _ in range(width):
                    errors[pool] += await call(app) != 201
                serial[pool].append((clock() - start) / width * 1e6)
                start = clock()
                statuses = await asyncio.gather(*(call(app) for _ in range(width)))
                parallel[pool].append((clock() - start) / width * 1e6)
                errors[pool] += sum(status != 201 for status in statuses)
    return {
        pool: {
            "c1": _stats(serial[pool]),
            "cN": _stats(parallel[pool]),
            "errors": errors[pool],
            "ratio": statistics.fmean(serial[pool]) / statistics.fmean(parallel[pool]),
        }
        for pool in apps
    }


def render_concurrency(results: dict[int, dict[str, Any]], width: int) -> str:
    lines = [
        f"| SQLite pool | CPU µs/run, 1 in flight | {width} in flight | ratio (1 / {width}) | errors |",
        "|---|---|---|---|---|",
    ]
    for pool, r in results.items():
        c1, cn = r["c1"], r["cN"]
        lines.append(
            f"| {pool} | {c1['mean_us']:.0f} ± {c1['se_us']:.0f} | {cn['mean_us']:.0f} ± {cn['se_us']:.0f} "
            f"| {r['ratio']:.3f} | {r['errors']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
