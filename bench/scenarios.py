"""The one table of what `python -m bench` measures: scenarios (request, servers, configurations, connections) with the
targets each is held to, and the benchmark modules run in their own process after the load scenarios.

bench/run.py reads it to start servers and drive load; bench/report.py reads it to judge the targets. Adding a load
scenario is one `Scenario(...)` row in `scenarios()`; adding a benchmark module is one `Module(...)` row in MODULES
(it gets a `--no-<name>` flag, its JSON lands under that name in results.json).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import Request

TEMPLATE = {"org_id": "bench", "workspace_id": "bench", "name": "greet", "body": "Hello {{ name }} from {{ team }}!"}
RUN_BODY = {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada", "team": "Prompter"}}
ENSURE_BODY = {"provider": "openai", "model_id": "gpt-4o"}
LABEL_BODY = {"org_id": "bench", "workspace_id": "bench", "version_id": 1}
RESOLVE_PATH = "/api/prompts/greet?org_id=bench&workspace_id=bench&label=production"

# Configurations per server group: label shown in the tables. The first of each group is its baseline.
CONFIGS: dict[str, dict[str, str]] = {
    # Prompter (`prompter serve`) on SQLite ("sqlite") or PostgreSQL ("pg"); bench/run.py maps each to its env.
    "prompter": {
        "off": "telemetry off",
        "metrics": "metrics only",
        "full": "metrics + traces",
        "lean": "metrics + traces, no SQL/Redis statement spans",
        "sampled": "metrics + traces sampled at 10 % (parentbased_traceidratio 0.1), statement spans on",
    },
    # The run endpoint beside the minimal reference app (bench/reference_app.py), both on SQLite.
    "reference": {"reference": "minimal Litestar + SQLAlchemy app", "off": "Prompter, telemetry off"},
    "litestar": {
        "bare": "bare Litestar",
        "prometheus": "Litestar PrometheusPlugin",
        "otel": "Litestar OpenTelemetryPlugin",
    },
}
GROUP_CONFIGS = {"sqlite": "prompter", "pg": "prompter", "reference": "reference", "litestar": "litestar"}
SQLITE_OFF = {"off": "telemetry off"}  # SQLite concurrency: Prompter's run with telemetry off only


# -- targets: each judges one scenario's summary (bench/report.summarize) and may look at another scenario's ----------
Summaries = dict[str, dict[str, Any]]


def target_row(name: str, measured: str, met: bool | None, detail: str = "") -> dict[str, Any]:
    status = "n/a" if met is None else ("met" if met else "missed")
    return {"target": name, "measured": measured, "status": status, "detail": detail}


@dataclass(frozen=True, slots=True)
class RatioTarget:
    """`config`'s RPS >= `threshold` x the baseline's, measured in the same rounds."""

    config: str
    threshold: float
    label: str
    order: int = 0  # rows are listed by (order, scenario): all "metrics only" rows first, then "metrics + traces", ...

    def judge(self, key: str, table: Summaries) -> dict[str, Any]:
        row = table.get(key)
        name = self.label.format(threshold=self.threshold, key=key)
        if row is None:
            return target_row(name, "not measured", None)
        c, base = row["configs"][self.config], row["configs"][row["baseline"]]
        straddles = c["rps_ratio_min"] < self.threshold <= c["rps_ratio_max"]
        return target_row(
            name,
            f"{c['rps_ratio']:.3f} (rounds {c['rps_ratio_min']:.3f}-{c['rps_ratio_max']:.3f}); "
            f"by server CPU {c['cpu_capacity_ratio']:.3f}",
            c["rps_ratio"] >= self.threshold,
            f"{base['label']} {base['rps']:,.0f} RPS, {c['label']} {c['rps']:,.0f} RPS; "
            f"{c['cpu_added_us']:+} us CPU per request"
            + ("; the rounds fall on both sides of the target: not resolved by this run" if straddles else ""),
        )


@dataclass(frozen=True, slots=True)
class TailTarget:
    """p99 of this scenario <= `factor` x p50 of scenario `against` (same configuration)."""

    against: str
    factor: float
    label: str
    config: str = "off"
    order: int = 0

    def judge(self, key: str, table: Summaries) -> dict[str, Any] | None:
        mine, base = (table.get(k, {}).get("configs", {}).get(self.config) for k in (key, self.against))
        if not mine or not base:
            return None
        limit = self.factor * base["p50_ms"]
        return target_row(
            self.label.format(factor=self.factor),
            f"p99 {mine['p99_ms']} ms ({key}); p50 {base['p50_ms']} ms ({self.against}) (limit {limit:.2f} ms)",
            mine["p99_ms"] <= limit,
            f"{mine['rps']:,.0f} RPS, {mine['errors']} errors",
        )


@dataclass(frozen=True, slots=True)
class ScaleTarget:
    """No errors, and RPS at least scenario `against`'s (same configuration): more connections must not cost."""

    against: str
    label: str
    config: str = "off"
    order: int = 0

    def judge(self, key: str, table: Summaries) -> dict[str, Any] | None:
        mine, base = (table.get(k, {}).get("configs", {}).get(self.config) for k in (key, self.against))
        if not mine or not base:
            return None
        return target_row(
            self.label,
            f"{mine['errors']} errors, {mine['rps']:,.0f} RPS ({key}) vs {base['rps']:,.0f} ({self.against})",
            mine["errors"] == 0 and mine["rps"] >= base["rps"],
            f"p50 {mine['p50_ms']} ms, p99 {mine['p99_ms']} ms",
        )


Target = RatioTarget | TailTarget | ScaleTarget

# What telemetry may cost on the run path (README: Performance).
TELEMETRY_TARGETS = (
    RatioTarget("metrics", 0.97, "metrics only >= {threshold:.0%} of telemetry-off RPS on {key}", order=10),
    RatioTarget("full", 0.90, "metrics + traces >= {threshold:.0%} of telemetry-off RPS on {key}", order=11),
    RatioTarget(
        "lean",
        0.90,
        "metrics + traces without statement spans >= {threshold:.0%} of telemetry-off RPS on {key}",
        order=12,
    ),
)


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    title: str
    group: str  # which servers: "sqlite", "pg" (Prompter), "litestar" or "reference"
    request: Request
    connections: int
    note: str = ""
    only: dict[str, str] | None = None  # a subset of the group's configurations
    requests: dict[str, Request] = field(default_factory=dict)  # per-configuration request, when they differ
    targets: tuple[Target, ...] = ()

    @property
    def configs(self) -> dict[str, str]:
        return self.only if self.only is not None else CONFIGS[GROUP_CONFIGS[self.group]]

    @property
    def baseline(self) -> str:
        return next(iter(CONFIGS[GROUP_CONFIGS[self.group]]))

    def request_for(self, config: str) -> Request:
        return self.requests.get(config, self.request)


def scenarios(connections: int, sqlite_connections: int) -> list[Scenario]:
    """The load scenarios, in the order they run and are reported."""
    run = Request("POST", "/api/prompt-templates/1/run", json.dumps(RUN_BODY))
    ensure = Request("POST", "/api/prompt-templates/1/ensure-version", json.dumps(ENSURE_BODY))
    sqlite_note = (
        f"-c{sqlite_connections}: SQLite has one writer; write transactions wait their turn in the app's FIFO writer "
        "queue (service/db/transactions.py), and run_sqlite_c8 / run_sqlite_c64 show what concurrency costs"
    )
    return [
        Scenario(
            "healthz",
            "Prompter GET /healthz (no DB): our HTTP metrics middleware",
            "sqlite",
            Request("GET", "/healthz"),
            connections,
        ),
        Scenario(
            "template_get_sqlite",
            "GET /api/prompt-templates/{id} (SQLite)",
            "sqlite",
            Request("GET", "/api/prompt-templates/1"),
            sqlite_connections,
            sqlite_note,
        ),
        Scenario(
            "resolve_sqlite",
            "GET /api/prompts/{name}?label=production, resolve (SQLite)",
            "sqlite",
            Request("GET", RESOLVE_PATH),
            sqlite_connections,
            sqlite_note,
        ),
        Scenario(
            "run_sqlite",
            "POST /api/prompt-templates/{id}/run, fake provider (SQLite)",
            "sqlite",
            run,
            sqlite_connections,
            sqlite_note,
            targets=TELEMETRY_TARGETS,
        ),
        Scenario(
            "run_vs_reference",
            "POST run (SQLite, telemetry off) vs the minimal reference app (bench/reference_app.py: read 1 row, insert 1)",
            "reference",
            run,
            sqlite_connections,
            "both on SQLite with the same WAL pragmas, one uvicorn process each",
            requests={"reference": Request("POST", "/items/1/run", json.dumps({"name": "Ada"}))},
            targets=(
                RatioTarget(
                    "off",
                    0.60,
                    "run RPS, telemetry off, >= {threshold:.2f}x the minimal reference app (SQLite)",
                    order=1,
                ),
            ),
        ),
        Scenario(
            "run_sqlite_c8",
            "POST /api/prompt-templates/{id}/run, fake provider (SQLite), 8 connections",
            "sqlite",
            run,
            8,
            "writes queue in the app's FIFO writer queue, one at a time",
            only=SQLITE_OFF,
            targets=(
                TailTarget(
                    "run_sqlite",
                    10.0,
                    "SQLite run p99 at 8 connections <= {factor:.0f} x p50 at 1 connection",
                    order=2,
                ),
            ),
        ),
        Scenario(
            "run_sqlite_c64",
            "POST /api/prompt-templates/{id}/run, fake provider (SQLite), 64 connections",
            "sqlite",
            run,
            64,
            only=SQLITE_OFF,
            targets=(
                ScaleTarget(
                    "run_sqlite", "SQLite run at 64 connections: 0 errors, RPS >= RPS at 1 connection", order=3
                ),
            ),
        ),
        Scenario(
            "run_pg",
            "POST /api/prompt-templates/{id}/run, fake provider (PostgreSQL)",
            "pg",
            run,
            connections,
            targets=TELEMETRY_TARGETS,
        ),
        Scenario(
            "ensure_version_pg",
            "POST /api/prompt-templates/{id}/ensure-version, existing version (PostgreSQL, REDIS_URL set)",
            "pg",
            ensure,
            connections,
        ),
        Scenario(
            "litestar_healthz",
            "bare Litestar app GET /healthz: Litestar's own plugins",
            "litestar",
            Request("GET", "/healthz"),
            connections,
        ),
    ]


# Scenarios the in-process comparisons of bench/report.py quote beside bench/micro.py's numbers.
HEALTHZ, LITESTAR_HEALTHZ = "healthz", "litestar_healthz"


def judge(table: Summaries, all_scenarios: list[Scenario]) -> list[dict[str, Any]]:
    """Every scenario target, ordered by (target order, scenario order); a target whose scenario was not run says so
    (ratio targets) or is left out (targets that compare two scenarios)."""
    judged = []
    for position, scenario in enumerate(all_scenarios):
        for target in scenario.targets:
            row = target.judge(scenario.key, table)
            if row is not None:
                judged.append((target.order, position, row))
    return [row for _, _, row in sorted(judged, key=lambda item: item[:2])]


# -- benchmark modules run in their own process after the load scenarios -----------------------------------------------
@dataclass(frozen=True, slots=True)
class Module:
    """`python -m <module> <arguments(args, out)>` in its own process; its JSON result is read from result(out).

    `out` is a fresh path in the run's work directory (a file or a directory, as the module wants it)."""

    name: str  # key in results.json, and the --no-<name> flag (underscores become dashes)
    module: str
    help: str
    arguments: Callable[[argparse.Namespace, Path], list[str]]
    timeout_s: float
    result: Callable[[Path], Path] = lambda out: out
    requires: str | None = None  # an importable package without which the module is skipped
    # Log lines worth keeping beside the result (e.g. dropped spans), matched in the module's own output.
    log_needles: tuple[str, ...] = ()


def _json_and_quick(args: argparse.Namespace, out: Path) -> list[str]:
    return ["--json", str(out)] + (["--quick"] if args.quick else [])


MODULES: list[Module] = [
    Module(
        "micro",
        "bench.micro",
        "in-process costs: µs per request, the /metrics scrape, one record_* call",
        _json_and_quick,
        1800,
        log_needles=("Queue full", "Traceback"),
    ),
    Module(
        "client",
        "bench.client",
        "the Python client's warm-cache cost and its requests per key per TTL",
        _json_and_quick,
        600,
        requires="prompter_client",
    ),
    Module(
        "ui_pages",
        "bench.ui_pages",
        "the web UI's pages with 1 000 prompts and 100 000 results",
        lambda args, out: ["--out", str(out), "--pg-url", args.pg_url] + (["--rounds", "10"] if args.quick else []),
        1200,
        result=lambda out: out / "ui_pages.json",
    ),
    Module(
        "chat_prompts",
        "bench.chat_prompts",
        "server CPU per run and per resolve: a 5-message chat prompt with a tool and a response schema vs a text prompt",
        lambda args, out: ["--out", str(out)] + (["--rounds", "3", "--seconds", "1"] if args.quick else []),
        1200,
        result=lambda out: out / "chat_prompts.json",
    ),
]
