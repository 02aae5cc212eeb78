"""Prompter's whole app called in-process over ASGI (no HTTP, no load generator), one variant per telemetry setup,
so what telemetry adds per request shows as process CPU time (aiosqlite's and the span exporter's threads included).

Variants (each its own app and fresh database, run interleaved):
  telemetry off                    PROMPTER_TELEMETRY=off
  metrics                          the default: Prometheus reader, no OTLP
  metrics + traces                 100 % sampling, BatchSpanProcessor -> OTLP/HTTP to the local receiver (as deployed)
  traces, spans discarded          the same spans handed to an exporter that drops them: no OTLP encoding or POST
  traces, no statement spans       metrics + traces with PROMPTER_TRACE_STATEMENTS=false (no SQLAlchemy/Redis spans)
"Spans discarded" is a what-if that splits the cost of tracing; it is not a configuration Prompter offers.
"""

from __future__ import annotations

import gc
import json
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from bench.asgi_measure import FLUSH_EVERY, Call, compare, discarding_tracer_provider

TEMPLATE = json.dumps(
    {"org_id": "m", "workspace_id": "m", "name": "greet", "body": "Hello {{ name }} from {{ team }}!"}
).encode()
RUN = json.dumps(
    {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada", "team": "Prompter"}}
).encode()
ENSURE = json.dumps({"provider": "openai", "model_id": "gpt-4o"}).encode()


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    telemetry: bool = True
    traces: str | None = None  # None, "otlp" (the local receiver) or "discard"
    statement_spans: bool = True


OFF = Variant("telemetry off", telemetry=False)
METRICS = Variant("metrics")
FULL = Variant("metrics + traces", traces="otlp")
DISCARD = Variant("traces, spans discarded", traces="discard")
NO_STATEMENTS = Variant("traces, no statement spans", traces="otlp", statement_spans=False)


def calls(iterations: int) -> dict[str, tuple[Call, int]]:
    return {
        "GET /healthz": (Call("GET", "/healthz"), iterations),
        "GET /api/prompt-templates/1": (Call("GET", "/api/prompt-templates/1"), max(50, iterations // 10)),
        "POST /api/prompt-templates/1/ensure-version": (
            Call("POST", "/api/prompt-templates/1/ensure-version", body=ENSURE),
            max(30, iterations // 30),
        ),
        "POST /api/prompt-templates/1/run": (
            Call("POST", "/api/prompt-templates/1/run", body=RUN, expect=201),
            max(30, iterations // 30),
        ),
    }


async def _start_apps(
    stack: AsyncExitStack,
    variants: list[Variant],
    db_urls: dict[str, str],
    *,
    redis_url: str | None,
    otlp_endpoint: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One started, seeded app per variant (its lifespan entered on `stack`), and each tracing app's force_flush."""
    from service.app import create_app
    from service.settings import Settings

    apps: dict[str, Any] = {}
    flushers: dict[str, Any] = {}
    for variant in variants:
        settings = Settings(
            db_url=db_urls[variant.name],
            db_auto_migrate=True,
            log_level="WARNING",
            redis_url=redis_url,
            telemetry="on" if variant.telemetry else "off",
            otel_exporter_otlp_endpoint=otlp_endpoint if variant.traces == "otlp" else None,
            otel_service_name=f"micro {variant.name}",
            # Off: the SQLAlchemy and Redis instrumentation is left out (PROMPTER_TRACE_STATEMENTS=false).
            trace_statements=variant.statement_spans,
        )
        tracer = discarding_tracer_provider() if variant.traces == "discard" else None
        app = create_app(settings, tracer_provider=tracer)
        await stack.enter_async_context(app.lifespan())
        for call in (
            Call("POST", "/api/prompt-templates", body=TEMPLATE, expect=201),
            Call("POST", "/api/prompt-templates/1/ensure-version", body=ENSURE, expect=201),
        ):
            status = await call(app)
            if status != call.expect:
                raise RuntimeError(f"seeding {variant.name}: {call.scope['path']} answered {status}")
        apps[variant.name] = app
        tracer_provider = app.state.runtime.telemetry_handle.tracer_provider
        if tracer_provider is not None:
            flushers[variant.name] = tracer_provider.force_flush
    return apps, flushers


async def measure(
    variants: list[Variant],
    db_urls: dict[str, str],
    wanted: dict[str, tuple[Call, int]],
    *,
    rounds: int,
    redis_url: str | None,
    otlp_endpoint: str | None,
) -> dict[str, Any]:
    """db_urls: variant name -> a fresh database URL for it."""
    results: dict[str, Any] = {}
    # Exits in reverse: each app's lifespan shuts down its telemetry (flushing spans) and disposes its engine.
    async with AsyncExitStack() as stack:
        apps, flushers = await _start_apps(stack, variants, db_urls, redis_url=redis_url, otlp_endpoint=otlp_endpoint)
        for name, (call, count) in wanted.items():
            results[name] = await compare(
                apps, call, iterations=count, rounds=rounds, baseline=variants[0].name, flushers=flushers
            )
    return results


async def gc_cost(
    variants: list[Variant],
    db_urls: dict[str, str],
    call: Call,
    requests: int,
    *,
    redis_url: str | None,
    otlp_endpoint: str | None,
) -> dict[str, Any]:
    """Garbage-collector time per request for each variant, as the process runs now and after gc.freeze() (which moves
    every object alive after startup - the app, SQLAlchemy's and Litestar's structures - out of the collector's reach,
    so a full collection no longer walks them). Tracing allocates many short-lived containers per request, which makes
    the collector run far more often; its time lands on whatever code triggered it."""
    out: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        apps, flushers = await _start_apps(stack, variants, db_urls, redis_url=redis_url, otlp_endpoint=otlp_endpoint)
        try:
            for phase in ("as is", "after gc.freeze()"):
                if phase != "as is":
                    gc.collect()
                    gc.freeze()
                for name, app in apps.items():
                    out.setdefault(name, {})[phase] = await _collector_time(app, call, requests, flushers.get(name))
        finally:
            gc.unfreeze()
    return out


async def _collector_time(app: Any, call: Call, requests: int, flush: Any) -> dict[str, Any]:
    collections = [0, 0, 0]
    spent = [0.0]
    started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            collections[info["generation"]] += 1
            spent[0] += time.perf_counter() - started[0]

    for _ in range(20):
        await call(app)
    gc.collect()
    gc.callbacks.append(on_gc)
    cpu = time.process_time()
    try:
        for index in range(requests):
            await call(app)
            if flush is not None and index % FLUSH_EVERY == FLUSH_EVERY - 1:
                flush()
    finally:
        gc.callbacks.remove(on_gc)
    return {
        "gc_us_per_request": round(spent[0] / requests * 1e6, 1),
        "cpu_us_per_request": round((time.process_time() - cpu) / requests * 1e6, 1),
        "collections_per_1000_requests": [round(n * 1000 / requests, 1) for n in collections],
    }
