"""In-process micro-measurements of what telemetry costs, without HTTP or a load generator in the way:

  middleware      telemetry.http.HTTPTelemetryMiddleware around a trivial ASGI app vs the bare trivial app
  litestar        the same bare Litestar app (bench/litestar_app.py) bare, with Litestar's PrometheusConfig middleware,
                  with Litestar's OpenTelemetryPlugin, and wrapped in our middleware (metrics; metrics + traces)
  full_stack      Prompter's own app (create_app) called over ASGI with telemetry off / metrics / metrics + traces,
                  and what-ifs that split the cost of tracing (bench/stack.py)
  scrape          prometheus_client.generate_latest(handle.registry) with about 1k and 10k series
  record_calls    one Telemetry.record_* call (timeit)

Spans go to a BatchSpanProcessor with an exporter that discards them: span creation and batching are measured,
OTLP encoding and sending are not (the wrk runs in bench/run.py include them). Variants are interleaved in rounds
and each figure is the median across rounds. `python -m bench.micro [--quick] [--json out.json]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from bench.asgi_measure import ASGIApp, Call, compare, discarding_tracer_provider
from telemetry import Telemetry, TelemetryConfig, setup_telemetry
from telemetry.http import HTTPTelemetryMiddleware


async def trivial_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})


# -- the measurements ---------------------------------------------------------------------------------------------
async def middleware_alone(iterations: int, rounds: int) -> dict[str, Any]:
    metrics = setup_telemetry(TelemetryConfig())
    full = setup_telemetry(TelemetryConfig(), tracer_provider=discarding_tracer_provider())
    variants: dict[str, ASGIApp] = {
        "bare": trivial_app,
        "ours: telemetry off": HTTPTelemetryMiddleware(trivial_app, Telemetry.disabled(), tracing=False),
        "ours: metrics": HTTPTelemetryMiddleware(trivial_app, metrics.telemetry, tracing=False),
        "ours: metrics + traces": HTTPTelemetryMiddleware(trivial_app, full.telemetry, tracing=True),
    }
    try:
        return await compare(
            variants,
            Call("GET", "/healthz", template="/healthz"),
            iterations=iterations,
            rounds=rounds,
            baseline="bare",
            flushers={"ours: metrics + traces": full.tracer_provider.force_flush},
        )
    finally:
        metrics.shutdown()
        full.shutdown()


async def litestar_plugins(iterations: int, rounds: int) -> dict[str, Any]:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import CollectorRegistry

    from bench.litestar_app import create_app

    metrics = setup_telemetry(TelemetryConfig())
    full = setup_telemetry(TelemetryConfig(), tracer_provider=discarding_tracer_provider())
    ours_metrics, ours_full = create_app("bare"), create_app("bare")
    ours_metrics.asgi_handler = HTTPTelemetryMiddleware(ours_metrics.asgi_handler, metrics.telemetry, tracing=False)
    ours_full.asgi_handler = HTTPTelemetryMiddleware(ours_full.asgi_handler, full.telemetry, tracing=True)
    otel_meters = MeterProvider(metric_readers=[PrometheusMetricReader(registry=CollectorRegistry())])
    otel_tracer = discarding_tracer_provider()
    apps = {
        "bare Litestar": create_app("bare"),
        "Litestar PrometheusPlugin": create_app("prometheus"),
        "Litestar OpenTelemetryPlugin": create_app("otel", tracer_provider=otel_tracer, meter_provider=otel_meters),
        "ours: metrics": ours_metrics,
        "ours: metrics + traces": ours_full,
    }
    try:
        return await compare(
            dict(apps),
            Call("GET", "/healthz"),
            iterations=iterations,
            rounds=rounds,
            baseline="bare Litestar",
            flushers={
                "Litestar OpenTelemetryPlugin": otel_tracer.force_flush,
                "ours: metrics + traces": full.tracer_provider.force_flush,
            },
        )
    finally:
        metrics.shutdown()
        full.shutdown()


def scrape(targets: Sequence[int], repeats: int) -> list[dict[str, Any]]:
    """Time the stock /metrics path (generate_latest of the app's registry, text and OpenMetrics) and the what-if
    encoder of bench/exposition_prototype.py, after checking that both expose exactly the same samples."""
    from prometheus_client import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

    out = []
    for target in targets:
        handle = setup_telemetry(TelemetryConfig())
        prototype = _prototype_telemetry()
        # One route = 1 counter series + 19 histogram series (16 buckets, +Inf, _sum, _count).
        for index in range(max(1, target // 20)):
            for telemetry in (handle.telemetry, prototype[0].telemetry if prototype else None):
                if telemetry is not None:
                    telemetry.record_http("GET", f"/api/bench/{index}/{{item_id:int}}", 200, 0.003)
        text = generate_latest(handle.registry)
        series = sum(1 for line in text.decode().splitlines() if line and not line.startswith("#"))
        registry = handle.registry
        encoders: dict[str, Callable[[], Any]] = {
            "text": partial(generate_latest, registry),
            "openmetrics": partial(generate_openmetrics, registry),
        }
        entry: dict[str, Any] = {"target": target, "series": series, "bytes": len(text)}
        # What /metrics serves for the text format: telemetry/exposition.py, checked byte for byte against the stock.
        encoders["fast"] = handle.prometheus_text
        entry["fast_same_bytes"] = handle.prometheus_text() == generate_latest(registry)
        if prototype:
            encoders["prototype"] = prototype[1]
            entry["prototype_same_samples"] = _samples(text.decode()) == _samples(prototype[1]().decode())
        for name, encode in encoders.items():
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                encode()
                samples.append((time.perf_counter() - start) * 1e3)
            entry[name] = {"median_ms": round(statistics.median(samples), 2), "min_ms": round(min(samples), 2)}
        out.append(entry)
        handle.shutdown()
    return out


def _prototype_telemetry() -> tuple[Any, Callable[[], bytes]] | None:
    """A Telemetry whose MeterProvider is read by an in-memory reader, and the prototype encoder over what it reads."""
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        from bench.exposition_prototype import encode
        from telemetry import contract
        from telemetry.setup import _resource, contract_views
    except ImportError:  # telemetry/ reorganised: skip the what-if rather than fail the benchmark
        return None
    config = TelemetryConfig()
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=_resource(config), metric_readers=[reader], views=contract_views())
    labels = frozenset(contract.COMMON_LABELS)
    return setup_telemetry(config, meter_provider=provider), lambda: encode(reader.get_metrics_data(), labels)


def _samples(text: str) -> set[tuple[Any, ...]]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if v != "")), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def record_calls(number: int) -> dict[str, float]:
    """µs per call: the best of 5 timeit repeats (timeit's own advice: the minimum is the least disturbed)."""
    on = setup_telemetry(TelemetryConfig())
    traced = setup_telemetry(TelemetryConfig(), tracer_provider=discarding_tracer_provider())
    off = Telemetry.disabled()
    t, d = on.telemetry, off

    def timed_block() -> None:
        with t.ensure_version_timer("openai"):
            pass

    def span_block() -> None:
        with traced.telemetry.span("prompter.probe", provider="openai"):
            pass

    cases: dict[str, Callable[[], Any]] = {
        "record_http (metrics on)": lambda: t.record_http("GET", "/api/prompt-templates/{template_id:int}", 200, 0.002),
        "record_http (telemetry off)": lambda: d.record_http("GET", "/healthz", 200, 0.002),
        "record_result_insert (counter x2)": lambda: t.record_result_insert(fingerprint_present=True),
        "record_probe_attempt (bounded labels)": lambda: t.record_probe_attempt("openai", "gpt-4o"),
        "record_cache_hit (no labels)": t.record_cache_hit,
        "ensure_version_timer (histogram)": timed_block,
        "span() with tracing (one span, batched)": span_block,
    }
    results = {}
    for name, fn in cases.items():
        best = min(timeit.Timer(fn).repeat(repeat=5, number=number))
        results[name] = round(best / number * 1e6, 3)
    on.shutdown()
    traced.shutdown()
    results["OTLP protobuf encoding, per span (batch of 512)"] = _otlp_encoding_per_span()
    return results


def _otlp_encoding_per_span() -> float:
    """What the BatchSpanProcessor's thread spends per span before the POST: encode_spans + SerializeToString."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    with tracer.start_as_current_span(
        "POST /api/prompt-templates/{template_id:int}/run",
        attributes={
            "http.request.method": "POST",
            "http.route": "/api/prompt-templates/{template_id:int}/run",
            "url.path": "/api/prompt-templates/1/run",
            "http.response.status_code": 201,
        },
    ):
        for _ in range(511):
            with tracer.start_as_current_span(
                "SELECT prompter",
                attributes={
                    "db.system": "postgresql",
                    "db.name": "prompter",
                    "net.peer.name": "127.0.0.1",
                    "db.statement": "SELECT prompt_templates.id, prompt_templates.body FROM prompt_templates "
                    "WHERE prompt_templates.id = $1::INTEGER",
                },
            ):
                pass
    spans = exporter.get_finished_spans()
    best = min(timeit.Timer(lambda: encode_spans(spans).SerializeToString()).repeat(repeat=5, number=3)) / 3
    provider.shutdown()
    return round(best / len(spans) * 1e6, 3)


async def _async_parts(iterations: int, rounds: int) -> dict[str, Any]:
    return {
        "middleware": await middleware_alone(iterations, rounds),
        "litestar": await litestar_plugins(iterations // 2, rounds),
    }


def full_stack(iterations: int, rounds: int, pg_url: str | None) -> dict[str, Any]:
    """bench/stack.py on SQLite (every endpoint) and, when PostgreSQL answers, the run endpoint on PostgreSQL with the
    what-if variants that split the cost of tracing. A local OTLP receiver and a throwaway Redis (REDIS_URL) as in
    bench/run.py."""
    from bench import stack
    from bench.servers import OtlpSink, PostgresDatabases, Redis

    workdir = Path(tempfile.mkdtemp(prefix="prompter-micro-"))
    sink, redis = OtlpSink(workdir), Redis(workdir)
    pg = PostgresDatabases(pg_url) if pg_url else None
    out: dict[str, Any] = {}
    try:
        variants = [stack.OFF, stack.METRICS, stack.FULL]
        urls = {v.name: f"sqlite:///{workdir}/{i}.db" for i, v in enumerate(variants)}
        out["sqlite"] = asyncio.run(
            stack.measure(
                variants, urls, stack.calls(iterations), rounds=rounds, redis_url=redis.url, otlp_endpoint=sink.endpoint
            )
        )
        # Full collections come in bursts (one per several hundred traced requests): a long window, two variants.
        run_call, _ = stack.calls(iterations)["POST /api/prompt-templates/1/run"]
        gc_variants = [stack.OFF, stack.FULL]
        urls = {v.name: f"sqlite:///{workdir}/gc{i}.db" for i, v in enumerate(gc_variants)}
        out["gc"] = asyncio.run(
            stack.gc_cost(
                gc_variants, urls, run_call, max(400, iterations // 2), redis_url=redis.url, otlp_endpoint=sink.endpoint
            )
        )
        if pg is not None and pg.available():
            variants = [stack.OFF, stack.METRICS, stack.FULL, stack.DISCARD, stack.NO_STATEMENTS]
            urls = {v.name: pg.create(f"micro{i}") for i, v in enumerate(variants)}
            run = {k: v for k, v in stack.calls(iterations).items() if "/run" in k}
            out["postgresql"] = asyncio.run(
                stack.measure(variants, urls, run, rounds=rounds, redis_url=redis.url, otlp_endpoint=sink.endpoint)
            )
    finally:
        if pg is not None:
            pg.drop_all()
        sink.stop()
        redis.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.micro", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here (default: print them)")
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL admin URL for the in-process run on PostgreSQL ('' to skip)",
    )
    args = parser.parse_args(argv)
    iterations, rounds = (4000, 3) if args.quick else (20000, 5)
    started = time.perf_counter()
    results = asyncio.run(_async_parts(iterations, rounds))
    results["full_stack"] = full_stack(iterations // 5, rounds, args.pg_url or None)
    results["scrape"] = scrape((1000, 10000), repeats=5 if args.quick else 15)
    results["record_calls"] = record_calls(10000 if args.quick else 20000)
    results["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(results, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    else:
        print(text)
    print(f"micro-measurements took {results['seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
