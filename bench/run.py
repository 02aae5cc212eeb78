"""`python -m bench`: what Prompter's telemetry costs, side by side with the bare app and Litestar's own plugins.

One run starts every server once, each on a free port with its own fresh database:
  Prompter (`prompter serve`, uvicorn, one process) x {telemetry off, metrics only, metrics + traces} on SQLite,
  and the same three on PostgreSQL (a fresh database each, `prompter migrate` first); REDIS_URL points every one at a
  throwaway redis-server; "metrics + traces" samples 100 % and exports OTLP/HTTP to a local receiver (bench/otlp_sink.py);
  bench/litestar_app.py x {bare, Litestar PrometheusConfig/PrometheusController, Litestar OpenTelemetryPlugin}.
Each server is seeded (a template, its version, a run) and warmed up, then load comes from `wrk -t1` in its own process
on 127.0.0.1. Rounds are interleaved - every scenario runs every configuration once per round, in an order rotated
each round - so machine drift hits all configurations alike; the tables report the median across rounds, and each
ratio is the median of per-round ratios against the baseline measured in the same round.
Then bench/micro.py measures in-process costs (µs per request, /metrics scrape, one record_* call).

Writes bench/results/results.md and results.json. `--quick` takes about 2½ minutes, the default about 11.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import chat_prompts, provider_calls, report
from bench.load import LoadResult, load_generator
from bench.scenarios import (
    CONFIGS,
    ENSURE_BODY,
    LABEL_BODY,
    MODULES,
    RESOLVE_PATH,
    RUN_BODY,
    TEMPLATE,
    Module,
    Scenario,
    scenarios,
)
from bench.servers import (
    LitestarServer,
    OtlpSink,
    PostgresDatabases,
    PrompterServer,
    Redis,
    ReferenceServer,
    http,
    migrate,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PROMPTER_CONFIGS = CONFIGS["prompter"]
LITESTAR_CONFIGS = CONFIGS["litestar"]


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    servers: dict[tuple[str, str], Any] = field(default_factory=dict)  # (group, config) -> server
    sent: dict[str, dict[str, int]] = field(default_factory=dict)  # server name -> route path -> requests sent
    stopped: list[Any] = field(default_factory=list)

    def log(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def count(self, server: Any, path: str, requests: int) -> None:
        per_server = self.sent.setdefault(server.name, {})
        per_server[path] = per_server.get(path, 0) + requests


def _seed(bench: Bench, server: PrompterServer) -> None:
    """One template, its version (so ensure-version is warm: 200 existing), one run and the production label on the
    version (for resolve); every answer checked."""
    steps = [
        ("POST", "/api/prompt-templates", TEMPLATE, 201),
        ("POST", "/api/prompt-templates/1/ensure-version", ENSURE_BODY, 201),
        ("POST", "/api/prompt-templates/1/ensure-version", ENSURE_BODY, 200),
        ("POST", "/api/prompt-templates/1/run", RUN_BODY, 201),
        ("GET", "/api/prompt-templates/1", None, 200),
        ("PUT", "/api/prompts/greet/labels/production", LABEL_BODY, 200),
        ("GET", RESOLVE_PATH, None, 200),
    ]
    for method, path, body, expected in steps:
        status, answer = http(method, server.base_url + path, body)
        if status != expected:
            raise RuntimeError(f"{server.name}: {method} {path} -> {status} (expected {expected}): {answer}")
        bench.count(server, path, 1)


def start_servers(
    bench: Bench, groups: set[str], sink: OtlpSink, redis: Redis | None, pg: PostgresDatabases | None
) -> None:
    logdir = bench.workdir
    common = {"PROMPTER_LOG_LEVEL": "WARNING"}  # no access log, for Prompter and the bare app alike
    if redis is not None:
        common["REDIS_URL"] = redis.url
    if "reference" in groups:
        groups = groups | {"sqlite"}  # the reference scenario compares with Prompter's SQLite "off" server
    for group in ("sqlite", "pg"):
        if group not in groups:
            continue
        for config in PROMPTER_CONFIGS:
            name = f"prompter-{group}-{config}"
            if group == "sqlite":
                db_url = f"sqlite:///{bench.workdir}/{config}.db"
            else:
                assert pg is not None
                db_url = pg.create(config)
                migrate(db_url, logdir, name)
            env = {**common, "DB_URL": db_url}
            if config == "off":
                env["PROMPTER_TELEMETRY"] = "off"
            if config in ("full", "lean"):
                env.update(
                    OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint, OTEL_TRACES_SAMPLER="always_on", OTEL_SERVICE_NAME=name
                )
            if config == "sampled":
                env.update(
                    OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint,
                    OTEL_TRACES_SAMPLER="parentbased_traceidratio",
                    OTEL_TRACES_SAMPLER_ARG="0.1",
                    OTEL_SERVICE_NAME=name,
                )
            if config == "lean":
                env["PROMPTER_TRACE_STATEMENTS"] = "false"
            bench.servers[(group, config)] = PrompterServer(name, env, logdir)
    if "litestar" in groups:
        for variant in LITESTAR_CONFIGS:
            bench.servers[("litestar", variant)] = LitestarServer(f"litestar-{variant}", variant, logdir, sink.endpoint)
    if "reference" in groups:
        bench.servers[("reference", "reference")] = ReferenceServer(
            "reference-sqlite", f"sqlite+aiosqlite:///{bench.workdir}/reference.db", logdir
        )
        bench.servers[("reference", "off")] = bench.servers[("sqlite", "off")]  # the same process, not a second one
    ready: set[int] = set()
    for (group, _), server in bench.servers.items():
        if id(server) in ready:
            continue
        ready.add(id(server))
        server.wait_ready()
        if group in ("sqlite", "pg"):
            _seed(bench, server)
        bench.log(f"{server.name} ready on {server.base_url}")


def measure(bench: Bench, chosen: list[Scenario], loadgen: Any) -> dict[str, dict[str, list[dict[str, Any]]]]:
    args = bench.args
    results: dict[str, dict[str, list[dict[str, Any]]]] = {s.key: {c: [] for c in s.configs} for s in chosen}
    if args.warmup > 0:
        for scenario in chosen:
            for config in scenario.configs:
                server = bench.servers[(scenario.group, config)]
                request = scenario.request_for(config)
                warm = loadgen.run(server.base_url, request, connections=scenario.connections, seconds=args.warmup)
                bench.count(server, request.path, warm.requests)
        bench.log("warm-up done")
    for round_index in range(args.rounds):
        for scenario in chosen:
            configs = list(scenario.configs)
            shift = round_index % len(configs)
            for config in configs[shift:] + configs[:shift]:
                server = bench.servers[(scenario.group, config)]
                request = scenario.request_for(config)
                cpu_before = server.process.cpu_seconds()
                result: LoadResult = loadgen.run(
                    server.base_url, request, connections=scenario.connections, seconds=args.seconds
                )
                # Server CPU per request: what the app itself spent, whatever else competes for the cores.
                cpu_us = (server.process.cpu_seconds() - cpu_before) / max(1, result.requests) * 1e6
                bench.count(server, request.path, result.requests)
                results[scenario.key][config].append(
                    {"round": round_index + 1, **result.as_dict(), "server_cpu_us": round(cpu_us, 1)}
                )
                bench.log(
                    f"round {round_index + 1}/{args.rounds} {scenario.key:<20} {config:<10} "
                    f"{result.rps:9.1f} rps  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:8.2f} ms  "
                    f"cpu {cpu_us:7.1f} us/req" + (f"  ERRORS {result.errors}" if result.errors else "")
                )
                time.sleep(args.settle)
    return results


def run_module(bench: Bench, module: Module) -> dict[str, Any]:
    """One benchmark module of bench/scenarios.MODULES in its own process; its JSON result, or {} when skipped."""
    if module.requires is not None and importlib.util.find_spec(module.requires) is None:
        bench.log(f"{module.name} skipped: {module.requires} is not installed")
        return {}
    out = bench.workdir / module.name
    command = [sys.executable, "-m", module.module, *module.arguments(bench.args, out)]
    log_path = bench.workdir / f"{module.name}.log"
    bench.log(f"{module.name}: " + " ".join(command[1:]) + f" (log: {log_path})")
    with open(log_path, "wb") as log:
        done = subprocess.run(
            command,
            cwd=Path(__file__).resolve().parent.parent,
            timeout=module.timeout_s,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{module.module} failed ({done.returncode}):\n{log_path.read_text()[-3000:]}")
    result = json.loads(module.result(out).read_text())
    if module.log_needles:
        lines = log_path.read_text(errors="replace").splitlines()
        result["log_findings"] = [line for line in lines if any(n in line for n in module.log_needles)][:10]
    return result


def _log_findings(bench: Bench) -> dict[str, list[str]]:
    """Lines in the servers' logs that would make a measurement suspect (dropped spans, errors, tracebacks)."""
    needles = (
        "Queue full",
        "Queue is full",
        "dropping",
        "dropped",
        "Traceback",
        "ERROR",
        '"level": "error"',
        "Exception",
    )
    findings: dict[str, list[str]] = {}
    for server in bench.servers.values():
        lines = [line for line in server.process.log_tail(10**7).splitlines() if any(n in line for n in needles)]
        if lines:
            findings[server.name] = lines[:10]
    return findings


def _meta(args: argparse.Namespace, loadgen: Any, argv: list[str]) -> dict[str, Any]:
    import opentelemetry.sdk.version as otel_version

    def git(*cmd: str) -> str:
        out = subprocess.run(
            ["git", *cmd], capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parent
        )
        return out.stdout.strip()

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(argv),
        "git_commit": git("rev-parse", "--short", "HEAD"),
        # Uncommitted changes in the measured code, if any (the tree may be ahead of the commit).
        "uncommitted": [line[3:] for line in git("status", "--porcelain", "--", "service", "telemetry").splitlines()],
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": cpu,
            "python": platform.python_version(),
            "litestar": _dist("litestar"),
            "opentelemetry_sdk": otel_version.__version__,
            "uvicorn": _dist("uvicorn"),
        },
        "load_generator": loadgen.version(),
        "rounds": args.rounds,
        "seconds_per_measurement": args.seconds,
        "warmup_seconds": args.warmup,
    }


def _dist(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds of 1 s (about 2.5 minutes)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5; quick 3)")
    parser.add_argument("--seconds", type=int, help="wrk duration per measurement (default 5; quick 1)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per server and scenario (default 2; quick 1)")
    parser.add_argument("--settle", type=float, default=0.5, help="pause between measurements (s)")
    parser.add_argument("--connections", type=int, default=8, help="wrk -c for the non-SQLite scenarios")
    parser.add_argument("--sqlite-connections", type=int, default=1, help="wrk -c for the SQLite scenarios")
    parser.add_argument("--scenarios", help="comma-separated subset of scenario keys")
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL of a PostgreSQL server (fresh databases are created and dropped)",
    )
    for module in MODULES:
        flag = "--no-" + module.name.replace("_", "-")
        parser.add_argument(
            flag, dest=f"no_{module.name}", action="store_true", help=f"skip {module.module}: {module.help}"
        )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where results.md / results.json go")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.seconds = args.seconds or (1 if args.quick else 5)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    bench = Bench(args, Path(tempfile.mkdtemp(prefix="prompter-bench-")))
    all_scenarios = scenarios(args.connections, args.sqlite_connections)
    wanted = set(args.scenarios.split(",")) if args.scenarios else {s.key for s in all_scenarios}
    unknown = wanted - {s.key for s in all_scenarios}
    if unknown:
        print(f"unknown scenarios: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    chosen = [s for s in all_scenarios if s.key in wanted]
    loadgen = load_generator(bench.workdir)
    pg = PostgresDatabases(args.pg_url)
    skipped: dict[str, str] = {}
    if any(s.group == "pg" for s in chosen) and not pg.available():
        skipped.update({s.key: f"PostgreSQL not reachable at {args.pg_url}" for s in chosen if s.group == "pg"})
        chosen = [s for s in chosen if s.group != "pg"]
    bench.log(
        f"workdir {bench.workdir}; load generator {loadgen.version()}; {len(chosen)} scenarios x 3 configs x "
        f"{args.rounds} rounds x {args.seconds}s"
    )

    sink = OtlpSink(bench.workdir)
    redis: Redis | None = None
    sink_stats: dict[str, Any] = {}
    redis_info: dict[str, Any] = {}
    try:
        redis = Redis(bench.workdir)
    except RuntimeError as exc:
        bench.log(f"no redis-server: {exc}; REDIS_URL stays unset")
    try:
        start_servers(bench, {s.group for s in chosen}, sink, redis, pg)
        results = measure(bench, chosen, loadgen)
        bench.log("provider calls per run (bench/provider_calls.py)")
        calls = provider_calls.measure(redis.url if redis is not None else None, bench.workdir)
    finally:
        for server in {id(s): s for s in bench.servers.values()}.values():
            server.stop()
        try:
            sink_stats = sink.stats()
        finally:
            sink.stop()
        if redis is not None:
            try:
                redis_info = redis.info()
            finally:
                redis.stop()
        pg.drop_all()
    findings = _log_findings(bench)
    modules = {m.name: {} if getattr(args, f"no_{m.name}") else run_module(bench, m) for m in MODULES}
    document = report.build(
        meta=_meta(args, loadgen, argv),
        scenarios=chosen,
        all_scenarios=all_scenarios,
        results=results,
        skipped=skipped,
        micro=modules.get("micro", {}),
        sink=sink_stats,
        sent=bench.sent,
        redis=redis_info,
        log_findings=findings,
        provider_calls=calls,
    )
    document.update(modules)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    chat = modules.get("chat_prompts")
    (args.out / "results.md").write_text(report.markdown(document) + (chat_prompts.markdown(chat) if chat else ""))
    bench.log(f"wrote {args.out / 'results.md'} and results.json (server logs in {bench.workdir})")
    return 0
