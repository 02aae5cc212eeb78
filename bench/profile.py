"""Where a configuration's CPU goes under load: `python -m bench.profile --config full --scenario run_pg`.

Starts one Prompter server exactly as bench/run.py does (its own fresh database, REDIS_URL, the local OTLP receiver for
`full`), seeds and warms it, then samples it with py-spy (`pip install -e '.[bench]'`) while wrk drives the scenario.
Prints the share of the server's samples per telemetry cost centre, then per call site: the line of Prompter's (or a
library's) code that entered telemetry code - `telemetry/`, the OpenTelemetry API/SDK, an instrumentor - so each
`record_*`, span and hook shows its own cost. Writes the collapsed stacks (flamegraph input).

py-spy samples in its default, blocking mode: it pauses the server for each sample and reads a consistent stack.
`--nonblocking` reads the stack while the interpreter runs, and drops the samples whose stack it finds torn - most of
them in short, busy calls such as metric recording, which it then under-reports (about half, measured).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.load import load_generator
from bench.run import Bench, _seed
from bench.scenarios import scenarios
from bench.servers import OtlpSink, PostgresDatabases, PrompterServer, Redis, migrate

# A sample (one stack, root to leaf) goes to the first category any of whose needles appears in one of its frames.
# py-spy runs with --full-filenames, so frames read "function (/path/to/file.py:line)".
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "span export thread (span relay, or BatchSpanProcessor: OTLP encode + POST)",
        (
            "/telemetry/span_relay.py:",
            "/telemetry/span_wire.py:",
            "/opentelemetry/sdk/_shared_internal/",
            "/opentelemetry/sdk/trace/export/",
            "/opentelemetry/exporter/",
        ),
    ),
    ("SQLAlchemy statement spans (instrumentation)", ("/opentelemetry/instrumentation/sqlalchemy/",)),
    ("Redis command spans (instrumentation)", ("/opentelemetry/instrumentation/redis/",)),
    ("metric recording (OTel metrics SDK)", ("/opentelemetry/sdk/metrics/", "/opentelemetry/metrics/")),
    ("spans and context (OTel trace SDK/API)", ("/site-packages/opentelemetry/",)),
    (
        "telemetry/ glue (port, middleware bookkeeping)",
        (
            "/telemetry/port.py:",
            "/telemetry/child_spans.py:",
            "/telemetry/labels.py:",
            "HTTPTelemetryMiddleware._start ",
            "_finish (",
        ),
    ),
)
APP = "everything else (app, Litestar, SQLAlchemy, drivers, uvicorn)"


# py-spy (in a container, at least) also samples threads that are blocked - the event loop in epoll, the aiosqlite
# worker waiting for its next statement, an exporter thread waiting for work - as if they ran. A sample whose innermost
# frame is one of these waits is not CPU: it is left out of the total.
IDLE_LEAVES = (
    "Condition.wait (",
    "Event.wait (",
    "EpollSelector.select (",
    "SelectSelector.select (",
    "Queue.get (",
    "_connection_worker_thread (",  # aiosqlite: `tx.get()` blocks in C, so the worker's own frame is the leaf
    "Thread._wait_for_tstate_lock (",
    "_Child.send (",  # the span relay writing to its exporter process: a pipe write blocks while the process reads
)


def is_idle(stack: str) -> bool:
    leaf = stack.rpartition(";")[2]
    return any(leaf.startswith(needle) for needle in IDLE_LEAVES)


def categorize(stack: str) -> str:
    for name, needles in CATEGORIES:
        if any(needle in stack for needle in needles):
            return name
    return APP


# Frames that are telemetry code: a sample whose stack enters one of these is telemetry cost, charged to the call site.
TELEMETRY_FRAMES = ("/site-packages/opentelemetry/", "/telemetry/")


def _is_telemetry(frame: str) -> bool:
    return any(needle in frame for needle in TELEMETRY_FRAMES)


def _is_stdlib(frame: str) -> bool:
    return ("/lib/python3" in frame and "/site-packages/" not in frame) or "(<string>:" in frame  # generated code


def call_site(stack: str) -> str | None:
    """Where a sample's telemetry cost was entered, or None when the sample is not telemetry's.

    A sample is telemetry's when its leaf end is telemetry code (possibly via the standard library: contextlib,
    threading). The site names the nearest caller outside that end, the outermost telemetry frame of it with its line,
    and the function it called: `run (runs/service.py:103) -> ensure_version (telemetry/port.py:236) -> __exit__`.
    The HTTP middleware wraps the whole app, so only its own lines (before and after the app) are charged to it."""
    frames = stack.split(";")
    outermost = None
    for index in range(len(frames) - 1, -1, -1):
        frame = frames[index]
        if _is_telemetry(frame):
            outermost = index
        elif not _is_stdlib(frame):
            break
    if outermost is None:
        return None
    caller = next((f for f in reversed(frames[:outermost]) if not _is_stdlib(f)), None)
    site = _short(frames[outermost])
    if outermost + 1 < len(frames):
        site += f" -> {frames[outermost + 1].partition(' (')[0]}"
    return f"{_short(caller)} -> {site}" if caller else site


def _short(frame: str) -> str:
    """`function (…/package/module.py:line)`, the path cut to its last two parts."""
    name, _, where = frame.partition(" (")
    parts = where.rstrip(")").split("/")
    return f"{name} ({'/'.join(parts[-2:])})"


def summarize(collapsed: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Samples on CPU (idle waits left out), and their split per cost centre and per telemetry call site."""
    shares: Counter[str] = Counter()
    sites: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or is_idle(stack):
            continue
        total += int(count)
        shares[categorize(stack)] += int(count)
        site = call_site(stack)
        if site is not None:
            sites[site] += int(count)
    return total, shares, sites


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--config", choices=("off", "metrics", "full"), default="full")
    parser.add_argument("--scenario", default="run_pg")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sites", type=int, default=25, help="call sites to list (most samples first)")
    parser.add_argument("--out", type=Path, help="collapsed stacks file (default: in the work directory)")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy not found: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    scenario = next((s for s in scenarios(8, 1) if s.key == args.scenario), None)
    if scenario is None or scenario.group == "litestar":
        print(
            f"--scenario must be one of Prompter's: {[s.key for s in scenarios(8, 1) if s.group != 'litestar']}",
            file=sys.stderr,
        )
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="prompter-profile-"))
    bench = Bench(argparse.Namespace(), workdir)
    sink, redis, pg = OtlpSink(workdir), Redis(workdir), PostgresDatabases(args.pg_url)
    server = None
    try:
        env = {"PROMPTER_LOG_LEVEL": "WARNING", "REDIS_URL": redis.url}
        if scenario.group == "pg":
            env["DB_URL"] = pg.create(args.config)
            migrate(env["DB_URL"], workdir, args.config)
        else:
            env["DB_URL"] = f"sqlite:///{workdir}/profile.db"
        if args.config == "off":
            env["PROMPTER_TELEMETRY"] = "off"
        if args.config == "full":
            env.update(OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint, OTEL_TRACES_SAMPLER="always_on")
        server = PrompterServer(f"profile-{args.config}", env, workdir)
        server.wait_ready()
        _seed(bench, server)
        loadgen = load_generator(workdir)
        loadgen.run(server.base_url, scenario.request, connections=scenario.connections, seconds=3)
        out = args.out or workdir / f"profile-{args.config}-{args.scenario}.txt"
        sampler = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(server.process.popen.pid),
                "--duration",
                str(args.seconds),
                "--rate",
                str(args.rate),
                "--format",
                "raw",
                "--full-filenames",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(0.5)
        cpu_before = server.process.cpu_seconds()
        result = loadgen.run(server.base_url, scenario.request, connections=scenario.connections, seconds=args.seconds)
        cpu_us = (server.process.cpu_seconds() - cpu_before) / max(1, result.requests) * 1e6
        sampler.wait(timeout=args.seconds + 60)
    finally:
        if server is not None:
            server.stop()
        sink.stop()
        redis.stop()
        pg.drop_all()
    total, shares, sites = summarize(out)
    print(
        f"{args.scenario} / {args.config}: {result.rps:.0f} RPS, {cpu_us:.0f} us server CPU per request "
        f"(py-spy attached), {total} samples on CPU (idle waits left out) -> {out}"
    )
    for name, count in shares.most_common():
        print(f"  {count / total:6.1%}  ~{count / total * cpu_us:6.0f} us/req  {name}")
    print("telemetry cost per call site (caller -> telemetry code entered):")
    for site, count in sites.most_common(args.sites):
        print(f"  {count / total:6.1%}  ~{count / total * cpu_us:6.0f} us/req  {site}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
