"""In-process ASGI measuring shared by bench/micro.py and bench/stack.py: one request as a reusable call, a tracer
provider whose exporter discards spans, and the interleaved-rounds comparison of app variants. Both modules import
from here; neither imports the other (bench/micro.py used to be imported by bench/stack.py, which it imports lazily).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class DiscardingExporter(SpanExporter):
    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def discarding_tracer_provider() -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DiscardingExporter()))
    return provider


def http_scope(method: str, path: str, *, template: str | None = None, body: bytes = b"") -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    if template is not None:
        scope["path_template"] = template  # what Litestar's router fills in; set by hand for the trivial app
    return scope


class Call:
    """One request: a fresh scope and receive per call (ASGI apps mutate the scope), the status checked."""

    def __init__(
        self, method: str, path: str, *, template: str | None = None, body: bytes = b"", expect: int = 200
    ) -> None:
        self.scope = http_scope(method, path, template=template, body=body)
        self.body = body
        self.expect = expect

    async def __call__(self, app: ASGIApp) -> int:
        status = 0
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(self.scope, headers=list(self.scope["headers"]), state={}), receive, send)
        return status


FLUSH_EVERY = 200  # requests between span flushes: the batch queue (2048 spans) must never overflow and drop spans


async def compare(
    variants: dict[str, ASGIApp],
    call: Call,
    *,
    iterations: int,
    rounds: int,
    baseline: str,
    flushers: dict[str, Callable[[], Any]] | None = None,
) -> dict[str, Any]:
    """µs per request for each variant (median of rounds) and µs added vs the baseline (median of per-round
    differences), as process CPU time (every thread of this process, e.g. aiosqlite's; not disturbed by other processes
    competing for the cores) and as wall time. Variants run interleaved, in an order rotated each round.

    A tight in-process loop can produce spans faster than the batch processor's thread exports them, and the SDK then
    drops spans (understating their cost). `flushers` (variant -> its tracer provider's force_flush) are called every
    FLUSH_EVERY requests inside the timed region, so every span is exported and paid for."""
    flushers = flushers or {}
    for app in variants.values():  # warm-up, and a check that every variant really answers as expected
        for _ in range(max(10, iterations // 10)):
            status = await call(app)
        if status != call.expect:
            raise RuntimeError(f"{call.scope['method']} {call.scope['path']} answered {status}, not {call.expect}")
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    wall: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            app = variants[name]
            gc.collect()
            flush = flushers.get(name)
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            for index in range(iterations):
                await call(app)
                if flush is not None and index % FLUSH_EVERY == FLUSH_EVERY - 1:
                    flush()
            if flush is not None:
                flush()
            cpu[name].append((time.process_time() - start_cpu) / iterations * 1e6)
            wall[name].append((time.perf_counter() - start_wall) / iterations * 1e6)

    def summary(samples: dict[str, list[float]]) -> dict[str, Any]:
        base = samples[baseline]
        return {
            "us_per_request": {name: round(statistics.median(v), 2) for name, v in samples.items()},
            "us_added": {
                name: round(statistics.median([x - b for x, b in zip(v, base, strict=True)]), 2)
                for name, v in samples.items()
                if name != baseline
            },
        }

    return {
        "request": f"{call.scope['method']} {call.scope['path']}",
        "iterations": iterations,
        "rounds": rounds,
        "baseline": baseline,
        "cpu": summary(cpu),
        "wall": summary(wall),
    }
