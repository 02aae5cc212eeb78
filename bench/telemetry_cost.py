"""What telemetry costs per request, in CPU time, resolved to a few microseconds: `python -m bench.telemetry_cost`.

Method. Every variant is the whole Prompter app (create_app + its lifespan, fake provider) called in this process over
ASGI; no HTTP, no load generator, so other processes on the machine do not show up in the figures. The variants are
alternated request by request (in a fresh random order each step), so a slow spell of the shared cores - or a garbage
collection, or a cache warming - lands on every variant alike. Each request is timed as CPU time of the whole process
(`time.process_time`: the aiosqlite thread and the span exporter's thread included), and each variant reports the
mean, its standard error and the ratio against telemetry off. Spans are exported over real OTLP/HTTP to a local
receiver (another process, like a collector) and flushed inside the timed region every FLUSH_EVERY requests (fewer when
sampled: batches of the same size), so their encoding and POST are paid by the variant that produced them, not by whichever request runs when the exporter wakes.

Two apps built alike can differ by some tens of µs per request (memory layout, database file): `off, second app` is a
second app built exactly like `off` and shows that offset. Metrics only is therefore also measured against itself:
every telemetry variant is also measured against itself: `the same app, switched off` is that app with its telemetry
switched off around each of its requests (the port records nothing and starts no span, the HTTP middleware passes the
request through, as with PROMPTER_TELEMETRY=off), so the difference between the two is what telemetry costs, free of
any offset between apps. What stays on when switched off is only the SQLAlchemy event hooks (each finds no recording
span and returns). The targets are judged on these pairs.

`/metrics` at 10k series: the fast writer (what /metrics serves for the text format) over 500 routes' HTTP series.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.trace import NoOpTracer

from bench.asgi_measure import Call
from bench.cost_verdicts import SAMPLED_RATIO, TARGETS, compare, paired, summary, verdict

TEMPLATE = json.dumps(
    {"org_id": "m", "workspace_id": "m", "name": "greet", "body": "Hello {{ name }} from {{ team }}!"}
).encode()
RUN = json.dumps(
    {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada", "team": "Prompter"}}
).encode()
ENSURE = json.dumps({"provider": "openai", "model_id": "gpt-4o"}).encode()
# Requests between span flushes at 100 % sampling (~8 spans a run: below the batch processor's 512-span export trigger).
# A sampled variant flushes proportionally less often, so its batches are as large: each export has a fixed cost (an
# HTTP POST) that the processor, left alone, spreads over a full batch too.
FLUSH_EVERY = 32

REQUESTS = {
    "run": lambda: Call("POST", "/api/prompt-templates/1/run", body=RUN, expect=201),
    "get": lambda: Call("GET", "/api/prompt-templates/1"),
}


@dataclass(frozen=True, slots=True)
class Variant:
    key: str
    label: str
    telemetry: bool = True
    sampler: str | None = None  # OTEL_TRACES_SAMPLER; None = no tracing
    sampler_arg: str | None = None
    switched_off: str | None = None  # the key of another variant's app, called with its telemetry switched off
    span_export: str = "process"  # PROMPTER_SPAN_EXPORT of a tracing variant
    statement_spans: bool = True  # PROMPTER_TRACE_STATEMENTS


VARIANTS = (
    Variant("off", "telemetry off", telemetry=False),
    Variant("off2", "off, second app (control)", telemetry=False),
    Variant("metrics", "metrics only"),
    Variant("metrics_off", "  the same app, switched off", switched_off="metrics"),
    Variant("full", "100 % tracing + statement spans", sampler="always_on"),
    Variant("full_off", "  the same app, switched off", switched_off="full"),
    Variant("inline", "100 % tracing, spans exported in process", sampler="always_on", span_export="inline"),
    Variant("inline_off", "  the same app, switched off", switched_off="inline"),
    Variant("nostmt", "100 % tracing, no statement spans", sampler="always_on", statement_spans=False),
    Variant("nostmt_off", "  the same app, switched off", switched_off="nostmt"),
    Variant(
        "sampled",
        f"parentbased_traceidratio {SAMPLED_RATIO}",
        sampler="parentbased_traceidratio",
        sampler_arg=str(SAMPLED_RATIO),
    ),
    Variant("sampled_off", "  the same app, switched off", switched_off="sampled"),
    # Every request sampled out: what a request that is not traced costs with tracing on, the other nine in ten above.
    Variant(
        "unsampled", "parentbased_traceidratio 0 (all sampled out)", sampler="parentbased_traceidratio", sampler_arg="0"
    ),
    Variant("unsampled_off", "  the same app, switched off", switched_off="unsampled"),
)


async def _start(stack: AsyncExitStack, variant: Variant, db_url: str, otlp: str | None) -> tuple[Any, Any]:
    from service.app import create_app
    from service.settings import Settings

    env = {
        "OTEL_TRACES_SAMPLER": variant.sampler,
        "OTEL_TRACES_SAMPLER_ARG": variant.sampler_arg,
        # Spans are exported only when the bench flushes, inside a timed request of the variant that made them: no
        # timer-driven export lands on another variant's request.
        "OTEL_BSP_SCHEDULE_DELAY": "3600000",
    }
    saved = {key: os.environ.get(key) for key in env}
    for key, value in env.items():  # the SDK reads its sampler from the environment when the provider is built
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        settings = Settings(
            db_url=db_url,
            db_auto_migrate=True,
            log_level="WARNING",
            telemetry="on" if variant.telemetry else "off",
            otel_exporter_otlp_endpoint=otlp if variant.sampler else None,
            otel_service_name=f"bench {variant.key}",
            span_export=variant.span_export,
            trace_statements=variant.statement_spans,
        )
        app = create_app(settings)
        await stack.enter_async_context(app.lifespan())
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    for call in (
        Call("POST", "/api/prompt-templates", body=TEMPLATE, expect=201),
        Call("POST", "/api/prompt-templates/1/ensure-version", body=ENSURE, expect=201),
    ):
        status = await call(app)
        if status != call.expect:
            raise RuntimeError(f"seeding {variant.key}: {call.scope['path']} answered {status}")
    provider = app.state.runtime.telemetry_handle.tracer_provider
    return app, (provider.force_flush if provider is not None else None)


def exporter_pid(app: Any) -> int | None:
    """The pid of the app's span exporter process, if its spans go to one."""
    relay = app.state.runtime.telemetry_handle.span_relay
    return relay.pid if relay is not None else None


CLOCK_TICK_S = 1 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process, from /proc/<pid>/stat (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * CLOCK_TICK_S


class Switch:
    """Telemetry switched off on a running app for the duration of a `with`: what Telemetry.disabled() does."""

    def __init__(self, telemetry: Any) -> None:
        self.telemetry = telemetry
        self.instruments = telemetry._instruments
        self.tracer = telemetry.tracer

    def __enter__(self) -> None:
        self.telemetry.enabled = False  # the HTTP middleware passes the request through: no server span
        self.telemetry._instruments = {}  # every record_* finds no instrument and returns
        self.telemetry.tracer = NOOP_TRACER  # domain spans: none (statement hooks find no recording span)

    def __exit__(self, *_: Any) -> None:
        self.telemetry.enabled = True
        self.telemetry._instruments = self.instruments
        self.telemetry.tracer = self.tracer


NO_SWITCH = nullcontext()
NOOP_TRACER = NoOpTracer()


async def measure(
    variants: list[Variant], db_urls: dict[str, str], request: str, runs: int, otlp: str | None
) -> dict[str, Any]:
    """Per-request CPU µs for every variant, alternated request by request."""
    async with AsyncExitStack() as stack:
        apps: dict[str, Any] = {}
        flushers: dict[str, Any] = {}
        switches: dict[str, Any] = {}
        every: dict[str, int] = {}
        for variant in variants:
            if variant.switched_off:
                apps[variant.key], flushers[variant.key] = apps[variant.switched_off], None
                switches[variant.key] = Switch(apps[variant.key].state.runtime.telemetry)
                continue
            apps[variant.key], flushers[variant.key] = await _start(stack, variant, db_urls[variant.key], otlp)
            ratio = float(variant.sampler_arg or 1)
            # Nothing sampled: flush once, at the end.
            every[variant.key] = round(FLUSH_EVERY / ratio) if ratio else runs
        call = REQUESTS[request]()
        for key, app in apps.items():  # warm-up, and a check that every variant answers as expected
            for _ in range(max(20, runs // 20)):
                with switches.get(key, NO_SWITCH):
                    status = await call(app)
            if status != call.expect:
                raise RuntimeError(f"{request} on {key} answered {status}, not {call.expect}")
            if flushers[key] is not None:
                flushers[key]()
        samples: dict[str, list[float]] = {key: [] for key in apps}
        keys = list(apps)
        clock = time.process_time
        gc.collect()
        exporters = {key: pid for key in every if (pid := exporter_pid(apps[key])) is not None}
        exporter_start = {key: process_cpu_s(pid) for key, pid in exporters.items()}
        order = random.Random(27)  # seeded: a rerun alternates the same way
        for index in range(runs):
            order.shuffle(keys)  # random, so that no variant always follows the same one (a warm cache is cheaper)
            for key in keys:
                app, flush = apps[key], flushers[key]
                with switches.get(key, NO_SWITCH):
                    start = clock()
                    await call(app)
                    if flush is not None and (index % every[key] == every[key] - 1 or index == runs - 1):
                        flush()
                    samples[key].append((clock() - start) * 1e6)
        stats = {key: dict(summary(values), samples=values) for key, values in samples.items()}
        for key, pid in exporters.items():
            if exporter_pid(apps[key]) != pid:
                raise RuntimeError(f"{key}: the span exporter process was replaced during the measure")
            stats[key]["exporter_us"] = (process_cpu_s(pid) - exporter_start[key]) / runs * 1e6
    return stats


def scrape(series: int, repeats: int) -> dict[str, Any]:
    """/metrics at `series` series, scrapes alternating between data changed in every series since the last scrape
    (one more request on every route: the worst case, judged) and unchanged data (what idle series cost)."""
    from telemetry import TelemetryConfig, setup_telemetry

    handle = setup_telemetry(TelemetryConfig())
    # One route = 1 counter series + 19 histogram series (16 buckets, +Inf, _sum, _count).
    routes = [f"/api/bench/{index}/{{item_id:int}}" for index in range(max(1, series // 20))]

    def request_every_route() -> None:
        for route in routes:
            handle.telemetry.record_http("GET", route, 200, 0.003)

    request_every_route()
    text = handle.prometheus_text() or b""
    count = sum(1 for line in text.decode().splitlines() if line and not line.startswith("#"))
    times: dict[str, list[float]] = {"changed": [], "unchanged": []}
    cpu: dict[str, list[float]] = {"changed": [], "unchanged": []}
    for index in range(2 * repeats):
        kind = "unchanged" if index % 2 else "changed"
        if kind == "changed":
            request_every_route()
        start, start_cpu = time.perf_counter(), time.thread_time()
        handle.prometheus_text()
        times[kind].append((time.perf_counter() - start) * 1e3)
        cpu[kind].append((time.thread_time() - start_cpu) * 1e3)
    handle.shutdown()
    return {
        "series": count,
        "median_ms": statistics.median(times["changed"]),
        "min_ms": min(times["changed"]),
        "cpu_median_ms": statistics.median(cpu["changed"]),
        "unchanged_median_ms": statistics.median(times["unchanged"]),
        "unchanged_cpu_median_ms": statistics.median(cpu["unchanged"]),
        "repeats": repeats,
    }


def _exporter_row(
    db: str, request: str, key: str, exporter_us: float, pair: tuple[float, float, float], stats: dict[str, Any]
) -> str:
    """The CPU the variant's span exporter process spent per request (outside the measured process), and the cost
    with it counted: what the machine as a whole pays for the variant."""
    total = pair[0] + exporter_us
    share = total / stats[f"{key}_off"]["mean_us"]
    target = TARGETS.get(key)
    counted = f"≤ {target:.0%} counting it: {'met' if share <= target else 'missed'}" if target else ""
    return (
        f"| {db} | {request} |   + its span exporter process (other process) | {exporter_us:.0f} |  | {total:+.0f} "
        f"| {share:+.1%} | {counted} |"
    )


def render(results: dict[str, Any]) -> str:
    lines = [
        "| database | request | variant | CPU µs/request | vs off app | vs same app switched off | share | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (db, request), stats in results["requests"].items():
        cmp = compare(stats)
        for variant in VARIANTS:
            if variant.key not in stats:
                continue
            s, d = stats[variant.key], cmp[variant.key]
            vs_off = "" if variant.key == "off" else f"{d['added_us']:+.0f} ± {d['added_se_us']:.0f}"
            pair = paired(stats, variant.key)
            vs_self = f"{pair[0]:+.0f} ± {pair[1]:.0f}" if pair else ""
            share = f"{pair[2]:+.1%}" if pair else ""
            lines.append(
                f"| {db} | {request} | {variant.label} | {s['mean_us']:.0f} ± {s['se_us']:.0f} | {vs_off} | {vs_self} "
                f"| {share} | {verdict(variant.key, stats)} |"
            )
            if "exporter_us" in s and pair:
                lines.append(_exporter_row(db, request, variant.key, s["exporter_us"], pair, stats))
    if "scrape" in results:
        sc = results["scrape"]
        scrape_verdict = "met" if sc["median_ms"] <= 10 else "missed"
        lines.append(
            f"\n/metrics, {sc['series']:,} series, every series changed since the last scrape: median "
            f"{sc['median_ms']:.1f} ms (min {sc['min_ms']:.1f}; CPU time median {sc['cpu_median_ms']:.1f} ms; "
            f"{sc['repeats']} scrapes); target ≤ 10 ms: {scrape_verdict}"
            + (
                f"\n/metrics, the same series unchanged: median {sc['unchanged_median_ms']:.1f} ms (CPU time median "
                f"{sc['unchanged_cpu_median_ms']:.1f} ms)"
                if "unchanged_median_ms" in sc
                else ""
            )
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1500, help="requests per variant (default 1500)")
    parser.add_argument("--db", nargs="+", choices=("sqlite", "pg"), default=["sqlite", "pg"])
    parser.add_argument("--requests", nargs="+", choices=tuple(REQUESTS), default=["run"])
    parser.add_argument("--variants", nargs="+", choices=[v.key for v in VARIANTS], default=[v.key for v in VARIANTS])
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--scrape-series", type=int, default=10_000, help="0 = skip the /metrics measure")
    parser.add_argument("--scrape-repeats", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    from bench.servers import OtlpSink, PostgresDatabases

    if "off" not in args.variants:
        args.variants.insert(0, "off")
    for variant in VARIANTS:  # a switched-off twin needs its app, and an app its twin
        if variant.switched_off and (variant.key in args.variants) != (variant.switched_off in args.variants):
            args.variants += [variant.key, variant.switched_off]
    variants = [v for v in VARIANTS if v.key in args.variants]
    workdir = Path(tempfile.mkdtemp(prefix="prompter-telemetry-cost-"))
    sink = OtlpSink(workdir) if any(v.sampler for v in variants) else None
    pg = PostgresDatabases(args.pg_url)
    results: dict[str, Any] = {"requests": {}, "runs": args.runs}
    try:
        if "pg" in args.db and not pg.available():
            print(f"PostgreSQL not reachable at {args.pg_url}: skipping it", file=sys.stderr)
            args.db = [db for db in args.db if db != "pg"]
        for db in args.db:
            for request in args.requests:
                if db == "pg":
                    urls = {v.key: pg.create(v.key) for v in variants if not v.switched_off}
                else:
                    urls = {v.key: f"sqlite:///{workdir}/{request}-{v.key}.db" for v in variants if not v.switched_off}
                started = time.perf_counter()
                stats = asyncio.run(measure(variants, urls, request, args.runs, sink.endpoint if sink else None))
                results["requests"][(db, request)] = stats
                print(f"{db} {request}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        if args.scrape_series:
            results["scrape"] = scrape(args.scrape_series, args.scrape_repeats)
    finally:
        if sink is not None:
            sink.stop()
        pg.drop_all()
    print(f"python -m bench.telemetry_cost {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(render(results))
    if args.json:
        requests = {
            f"{db} {req}": {key: {k: v for k, v in s.items() if k != "samples"} for key, s in stats.items()}
            for (db, req), stats in results["requests"].items()
        }
        raw = dict(results, requests=requests)
        args.json.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
