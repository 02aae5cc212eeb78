"""How fast the web UI's pages answer with a realistic workspace: 1 000 prompts and 100 000 results.

`python -m bench.ui_pages [--rounds N] [--pg-url URL] [--out DIR]`

Per backend (SQLite, and PostgreSQL when --pg-url answers) a fresh database is migrated to head and seeded in bulk:
1 000 prompt names in one workspace (every tenth with three revisions), one pinned version per revision, labels
`production` and `staging` on every name, and 100 000 results (a quarter of them run through `production`) - 10 000 of them on one hot prompt inside the last 24 hours (its activity chart reads the most), the
rest spread over the other prompts and the past 7 days; rows are inserted oldest first (ids grow with time, as in a
live database) and PostgreSQL is VACUUM ANALYZEd (as autovacuum would have). A little noise in a second workspace checks tenancy costs
nothing. The app (`create_app`, PROMPTER_AUTH=required, telemetry on: metrics) is called in-process over ASGI with a
logged-in session cookie, so each timing is the server's time plus the in-process client's overhead (no network,
well under a millisecond), and the process's CPU time per request beside it; every page is requested `--warmup` times, then `--rounds` times, interleaved page by page.
The same pages are measured again after dropping the UI's index (migration 0004_ui_indexes) to show what it buys.
The playground's run (a form POST through the fake LLM) is measured as its server time minus the provider call's own
latency (the result's latency_ms), beside the same for an API run through a label: what each adds to the model call.

Writes bench/results/ui_pages.md and ui_pages.json. Target: every page's median ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import insert, select, text

from service.app import create_app
from service.auth.service import KeyService
from service.db.engine import create_engine, session_factory, unit_of_work
from service.db.migrate import upgrade
from service.db.models import PromptLabel, PromptResult, PromptTemplate, PromptVersion
from service.settings import Settings
from service.templates.rendering import content_hash, parse_variables

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PROMPTS = 1_000
RESULTS = 100_000
HOT_RESULTS = 10_000
TARGET_MS = 50.0
PLAYGROUND_TARGET_MS = 10.0
ORG, WORKSPACE = "bench", "ui"
UI_INDEX = "ix_prompt_results_template_created"


def name_of(i: int) -> str:
    return f"prompt-{i:04d}"


async def seed(db_url: str) -> dict[str, Any]:
    engine = create_engine(Settings(db_url=db_url))
    rng = random.Random(16)
    now = datetime.now(UTC)
    try:
        await upgrade(engine)
        async with unit_of_work(session_factory(engine)) as session:
            key, _ = await KeyService(session).create(org_id=ORG, workspace_id=WORKSPACE, role="write")
            templates = []
            for i in range(PROMPTS):
                for revision in range(1, 4 if i % 10 == 0 else 2):
                    body = f"Revision {revision} of {name_of(i)}: answer {{{{ question }}}} for {{{{ user }}}}."
                    templates.append(
                        {
                            "org_id": ORG,
                            "workspace_id": WORKSPACE,
                            "name": name_of(i),
                            "body": body,
                            "variables": parse_variables(body),
                            "content_hash": content_hash(body),
                            "revision": revision,
                            "created_at": now - timedelta(days=8),
                        }
                    )
            templates.append({**templates[0], "org_id": "other", "workspace_id": "noise"})
            await session.execute(insert(PromptTemplate), templates)
            rows = (
                await session.execute(
                    select(PromptTemplate.id, PromptTemplate.name).where(PromptTemplate.workspace_id == WORKSPACE)
                )
            ).all()
            newest: dict[str, int] = {}
            for template_id, name in rows:
                newest[name] = max(newest.get(name, 0), template_id)
            versions = [
                {
                    "template_id": template_id,
                    "provider": "openai",
                    "model_id": "gpt-4o",
                    "params": {},
                    "params_hash": "sha256:" + "0" * 64,
                    "captured": {"system_fingerprint": "fp_bench"},
                    "pvk": f"sha256:{template_id:064d}",
                    "drift": False,
                    "created_at": now - timedelta(days=8),
                }
                for template_id, _ in rows
            ]
            await session.execute(insert(PromptVersion), versions)
            version_of = dict((await session.execute(select(PromptVersion.template_id, PromptVersion.id))).all())
            hot = newest[name_of(0)]
            others = [newest[name_of(i)] for i in range(1, PROMPTS)]
            rows_to_insert: list[dict[str, Any]] = []
            for n in range(RESULTS):
                if n < HOT_RESULTS:
                    template_id, age = hot, timedelta(seconds=rng.uniform(0, 86_400))
                else:
                    template_id, age = rng.choice(others), timedelta(seconds=rng.uniform(0, 7 * 86_400))
                rows_to_insert.append(
                    {
                        "template_id": template_id,
                        "version_id": version_of[template_id],
                        "pvk": f"sha256:{template_id:064d}",
                        "provider": "openai",
                        "model_id": "gpt-4o",
                        "variables": {"question": "why?", "user": f"user-{n % 97}"},
                        "rendered_prompt": "Answer why? for a user." * 4,
                        "output": "Because. " * 40,
                        "system_fingerprint": "fp_bench",
                        "provider_metadata": {"fake": True},
                        "input_tokens": 20,
                        "output_tokens": 80,
                        "latency_ms": round(rng.lognormvariate(5.5, 0.4), 1),
                        "trace_id": f"{n:032x}",
                        "created_at": now - age,
                        # A quarter of the runs went through the `production` label (the results page filters on it).
                        "label": "production" if n % 4 == 0 else None,
                        "identity_matches_label": True if n % 4 == 0 else None,
                    }
                )
            # Inserted oldest first, as a live service would have written them: ids grow with created_at.
            rows_to_insert.sort(key=lambda row: row["created_at"])
            for start in range(0, len(rows_to_insert), 5_000):
                await session.execute(insert(PromptResult), rows_to_insert[start : start + 5_000])
            session.add_all(
                PromptLabel(
                    org_id=ORG,
                    workspace_id=WORKSPACE,
                    name=name_of(i),
                    label=label,
                    version_id=version_of[newest[name_of(i)]],
                    updated_by="bench",
                )
                for i in range(PROMPTS)
                for label in ("production", "staging")
            )
            newest_result = await session.scalar(select(PromptResult.id).order_by(PromptResult.id.desc()).limit(1))
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                # What autovacuum would have done by now: statistics, and the visibility map index-only scans need.
                await conn.execute(text("VACUUM ANALYZE"))
        return {"key": key, "newest_result": newest_result, "hot_version": version_of[hot]}
    finally:
        await engine.dispose()


def pages(newest_result: int) -> dict[str, str]:
    return {
        "prompt list, first page": "/ui",
        "prompt list, page 10": f"/ui?after={name_of(449)}",
        "prompt list, search": "/ui?q=PROMPT-09",
        "prompt, hot (10 000 runs in 24 h)": f"/ui/prompts/{name_of(0)}",
        "prompt, typical": f"/ui/prompts/{name_of(500)}",
        "results, workspace": "/ui/results",
        "results, one prompt": f"/ui/results?prompt={name_of(500)}",
        "results, one prompt + label": f"/ui/results?prompt={name_of(500)}&label=production",
        "results, hot prompt + label": f"/ui/results?prompt={name_of(0)}&label=production",
        "result": f"/ui/results/{newest_result}",
        "new prompt (editor)": "/ui/new",
        "new revision (editor), hot prompt": f"/ui/prompts/{name_of(0)}/edit",
        "pin a version, hot prompt": f"/ui/prompts/{name_of(0)}/pin",
        "playground, hot prompt": f"/ui/prompts/{name_of(0)}/playground",
    }


async def logged_in(client: Any, key: str) -> None:
    form = await client.get("/ui/login")
    token = form.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
    login = await client.post("/ui/login", data={"api_key": key, "_csrf_token": token}, follow_redirects=False)
    assert login.status_code == 303, login.text


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 2),
        "p95_ms": round(sorted(values)[max(0, math.ceil(len(values) * 0.95) - 1)], 2),  # nearest rank
        "max_ms": round(max(values), 2),
    }


async def measure_playground(db_url: str, key: str, version_id: int, warmup: int, rounds: int) -> dict[str, Any]:
    """Server time of a playground run minus its provider call, beside an API run through `production` (the same
    version); then the playground page showing two stored runs side by side."""
    app = create_app(Settings(db_url=db_url, auth="required", db_auto_migrate=False, log_level="WARNING"))
    added: dict[str, list[float]] = {"playground run (form POST)": [], "API run through a label": []}
    shown: list[float] = []
    async with AsyncTestClient(app) as client:
        await logged_in(client, key)
        page = await client.get(f"/ui/prompts/{name_of(0)}/playground")
        token = page.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"_csrf_token": token, "a": f"version:{version_id}", "action": "run", "var_question": "why?"}
        form["var_user"] = "bench"
        bearer = {"Authorization": f"Bearer {key}"}
        location = ""
        for n in range(warmup + rounds):
            started = time.perf_counter()
            ran = await client.post(f"/ui/prompts/{name_of(0)}/playground", data=form, follow_redirects=False)
            wall = (time.perf_counter() - started) * 1000
            assert ran.status_code == 303, ran.text[:500]
            location = ran.headers["location"]
            rid = location.split("results=", 1)[1].split("#", 1)[0].split("%2C")[0].split(",")[0]
            latency = (await client.get(f"/api/prompt-results/{rid}", headers=bearer)).json()["latency_ms"]
            started = time.perf_counter()
            api = await client.post(
                f"/api/prompts/{name_of(0)}/run",
                json={"variables": {"question": "why?", "user": "bench"}},
                headers=bearer,
            )
            api_wall = (time.perf_counter() - started) * 1000
            assert api.status_code == 201, api.text[:300]
            if n >= warmup:
                added["playground run (form POST)"].append(wall - latency)
                added["API run through a label"].append(api_wall - api.json()["latency_ms"])
        two = location.replace("results=", f"results={rid}%2C", 1)
        for n in range(warmup + rounds):
            started = time.perf_counter()
            response = await client.get(two)
            if n >= warmup:
                shown.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and 'id="outcome-b"' in response.text
    return {
        "added_to_the_provider_call": {label: _stats(values) for label, values in added.items()},
        "playground, two runs side by side": _stats(shown),
    }


async def measure(
    db_url: str, key: str, paths: dict[str, str], warmup: int, rounds: int
) -> dict[str, dict[str, float]]:
    app = create_app(Settings(db_url=db_url, auth="required", db_auto_migrate=False, log_level="WARNING"))
    samples: dict[str, list[float]] = {label: [] for label in paths}
    cpu: dict[str, list[float]] = {label: [] for label in paths}
    async with AsyncTestClient(app) as client:
        await logged_in(client, key)
        for path in paths.values():
            for _ in range(warmup):
                response = await client.get(path)
                assert response.status_code == 200, (path, response.status_code, response.text[:500])
        for _ in range(rounds):
            for label, path in paths.items():
                started, cpu_started = time.perf_counter(), time.process_time()
                response = await client.get(path)
                samples[label].append((time.perf_counter() - started) * 1000)
                cpu[label].append((time.process_time() - cpu_started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
    return {
        label: {
            "median_ms": round(statistics.median(values), 2),
            "p95_ms": round(sorted(values)[max(0, math.ceil(len(values) * 0.95) - 1)], 2),  # nearest rank
            "max_ms": round(max(values), 2),
            "cpu_median_ms": round(statistics.median(cpu[label]), 2),
        }
        for label, values in samples.items()
    }


async def drop_ui_index(db_url: str) -> None:
    engine = create_engine(Settings(db_url=db_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP INDEX {UI_INDEX}"))
    finally:
        await engine.dispose()


def backend_urls(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    from bench.servers import PostgresDatabases

    urls = {"sqlite": f"sqlite:///{workdir}/ui-bench.db"}
    if args.pg_url:
        pg = PostgresDatabases(args.pg_url)
        if pg.available():
            urls["postgresql"] = pg.create("ui")
            args.pg = pg
        else:
            print(f"PostgreSQL not reachable at {args.pg_url}: SQLite only", file=sys.stderr)
    return urls


def markdown(document: dict[str, Any], *, level: int = 1) -> str:
    """The report; `level` is the Markdown level of its title (results.md of `python -m bench` embeds it at 2)."""
    lines = [
        "#" * level + " UI pages: server time with 1 000 prompts and 100 000 results (bench/ui_pages.py)",
        "",
        f"`python -m bench.ui_pages --rounds {document['rounds']}` on {document['when']} ({document['machine']}). "
        f"In-process ASGI calls, median / p95 of {document['rounds']} requests per page, in ms. "
        f"Target: median ≤ {TARGET_MS:.0f} ms. Process CPU is this process's CPU time per request (the app, and SQLite, "
        "which runs in-process); unlike wall time it hardly grows when other work competes for the cores. "
        "PostgreSQL's own work happens in its server process and is not in it.",
        "",
    ]
    for backend, variants in document["backends"].items():
        lines += [
            "#" * (level + 1) + f" {backend}",
            "",
            "| Page | median | p95 | max | process CPU, median | median without the UI index |",
            "|---|---|---|---|---|---|",
        ]
        with_index, without = variants["with_index"], variants["without_index"]
        for label, stats in with_index.items():
            mark = "" if stats["median_ms"] <= TARGET_MS else " ✗"
            lines.append(
                f"| {label} | {stats['median_ms']}{mark} | {stats['p95_ms']} | {stats['max_ms']} | "
                f"{stats['cpu_median_ms']} | {without[label]['median_ms']} |"
            )
        playground = variants.get("playground")
        if playground:
            shown = playground["playground, two runs side by side"]
            mark = "" if shown["median_ms"] <= TARGET_MS else " ✗"
            lines.append(
                f"| playground, two runs side by side | {shown['median_ms']}{mark} | {shown['p95_ms']} | "
                f"{shown['max_ms']} | – | – |"
            )
            lines += [
                "",
                f"Time a run adds to its provider call (server time minus the call's own latency; target for the "
                f"playground: ≤ {PLAYGROUND_TARGET_MS:.0f} ms), beside an API run through a label of the same version:",
                "",
                "| Run | median | p95 | max |",
                "|---|---|---|---|",
            ]
            for label, stats in playground["added_to_the_provider_call"].items():
                lines.append(f"| {label} | {stats['median_ms']} | {stats['p95_ms']} | {stats['max_ms']} |")
        load = variants.get("load_average_1m")
        busy = (
            f" The machine's 1-minute load average after this backend's measurements: {load} (2 cores)." if load else ""
        )
        lines += ["", f"Seeding took {variants['seed_s']} s.{busy}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_pages", description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="'' = SQLite only")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    args.pg = None
    workdir = Path(tempfile.mkdtemp(prefix="prompter-ui-bench-"))
    document: dict[str, Any] = {
        "rounds": args.rounds,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": "shared 2-core machine, other work running",
        "backends": {},
    }
    try:
        for backend, db_url in backend_urls(args, workdir).items():
            started = time.perf_counter()
            seeded = asyncio.run(seed(db_url))
            seed_s = round(time.perf_counter() - started, 1)
            paths = pages(seeded["newest_result"])
            print(f"{backend}: seeded in {seed_s} s; measuring", file=sys.stderr)
            with_index = asyncio.run(measure(db_url, seeded["key"], paths, args.warmup, args.rounds))
            playground = asyncio.run(
                measure_playground(db_url, seeded["key"], seeded["hot_version"], args.warmup, args.rounds)
            )
            asyncio.run(drop_ui_index(db_url))
            without = asyncio.run(measure(db_url, seeded["key"], paths, args.warmup, args.rounds))
            document["backends"][backend] = {
                "with_index": with_index,
                "without_index": without,
                "playground": playground,
                "seed_s": seed_s,
                "load_average_1m": round(os.getloadavg()[0], 1),
            }
    finally:
        if args.pg is not None:
            args.pg.drop_all()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ui_pages.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / "ui_pages.md").write_text(markdown(document))
    print(markdown(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
