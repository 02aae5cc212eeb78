"""The run path's CPU against the minimal reference app, in process: `python -m bench.run_path`.

Method (as bench/telemetry_cost.py): Prompter (telemetry off, fake provider, SQLite) and bench/reference_app.py (read
one row, insert one) are called in this process over ASGI, alternated request by request in a seeded random order, each
request timed as the CPU time of the whole process (aiosqlite's worker threads included). No HTTP server, no load
generator: other work on the machine hardly moves the figures. Reports each app's mean CPU µs per run with its standard
error and Prompter's ratio (reference CPU / Prompter CPU: throughput at equal CPU), the figure the run-vs-reference
target is judged on. The wrk rows of `python -m bench` (scenario run_vs_reference) measure the same through uvicorn.

`--variants` adds Prompter apps with one run-path change switched off (`no_version_cache`), so each change's share is
measured against the same app in the same loop.
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
from contextlib import AsyncExitStack
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


async def _prompter(stack: AsyncExitStack, db_url: str, *, version_cache: bool = True) -> Any:
    from service.app import create_app
    from service.settings import Settings

    settings = Settings(db_url=db_url, db_auto_migrate=True, log_level="WARNING", telemetry="off")
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
            apps[variant] = (
                await _prompter(stack, f"sqlite:///{work / f'{variant}.db'}", version_cache=False),
                _run_call(),
            )
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
    parser.add_argument("--variants", nargs="*", choices=("no_version_cache",), default=[])
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="prompter-run-path-") as work:
        stats = asyncio.run(measure(args.runs, args.variants, Path(work)))
    print(render(stats))
    if args.json:
        args.json.write_text(json.dumps(stats, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
