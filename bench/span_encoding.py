"""What the span exporter process spends encoding a traced run: `python -m bench.span_encoding`.

Records the frames the span relay of a real Prompter app (fake provider, SQLite, 100 % tracing with statement spans)
writes for `--runs` run requests, then encodes them again and again in this process, alternating batch by batch
between the stock path (rebuild ReadableSpans, the OTLP common encoder) and the direct one (telemetry/span_encoding.py),
each timed as thread CPU time. Both end in the same serialized request (checked on every batch) and then in the same
stock HTTP client, whose POST this leaves out.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from bench.cost_verdicts import mean_se
from bench.telemetry_cost import FLUSH_EVERY, REQUESTS, VARIANTS, _start
from telemetry.span_encoding import SpanEncoder
from telemetry.span_export_process import messages
from telemetry.span_wire import frame


async def record(runs: int) -> bytes:
    """The frames the app's span relay sent its exporter process for `runs` run requests."""
    frames: list[bytes] = []
    variant = next(v for v in VARIANTS if v.key == "full")
    from bench.servers import OtlpSink

    with tempfile.TemporaryDirectory() as directory:
        sink = OtlpSink(Path(directory))
        stack = AsyncExitStack()
        stack.callback(sink.stop)
        async with stack:
            app, flush = await _start(stack, variant, f"sqlite+aiosqlite:///{directory}/spans.db", sink.endpoint)
            relay = app.state.runtime.telemetry_handle.span_relay
            encode = relay._encode

            def recorded(batch: list[Any]) -> bytes:
                frames.append(encode(batch))
                return frames[-1]

            relay._encode = recorded
            flush()  # the seeding requests' spans: their resource and scope definitions are kept, their spans not
            seeded = [m for m in messages(io.BytesIO(b"".join(frames))) if m[0] != "spans"]
            frames[:] = [frame(message) for message in seeded]
            call = REQUESTS["run"]()
            for index in range(runs):
                await call(app)
                if index % FLUSH_EVERY == FLUSH_EVERY - 1:
                    flush()
            flush()
    return b"".join(frames)


def measure(data: bytes, runs: int, rounds: int) -> dict[str, Any]:
    listed = list(messages(io.BytesIO(data)))
    encoder = SpanEncoder()
    for message in listed:
        if message[0] != "spans":
            encoder.define(message)
    batches = [message[1] for message in listed if message[0] == "spans"]
    times: dict[str, list[float]] = {"stock": [], "direct": []}
    spans = 0
    for _ in range(rounds):
        for batch in batches:
            start = time.thread_time()
            stock = encode_spans([encoder.span(values) for values in batch]).SerializePartialToString()
            middle = time.thread_time()
            direct = encoder.request(batch).SerializePartialToString()
            end = time.thread_time()
            if direct != stock:
                raise RuntimeError("the direct encoding differs from the stock one")
            times["stock"].append(middle - start)
            times["direct"].append(end - middle)
            spans += len(batch)
    per_run = runs / len(batches)  # run requests a batch holds
    out: dict[str, Any] = {"spans_per_run": spans / rounds / runs}
    for key, values in times.items():
        mean, se = mean_se([value / per_run * 1e6 for value in values])
        out[key] = (mean, se)
    out["ratio"] = out["direct"][0] / out["stock"][0]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.span_encoding", description=__doc__)
    parser.add_argument("--runs", type=int, default=640, help="run requests recorded")
    parser.add_argument("--rounds", type=int, default=20, help="times every recorded batch is encoded each way")
    args = parser.parse_args(argv)
    result = measure(asyncio.run(record(args.runs)), args.runs, args.rounds)
    print(f"python -m bench.span_encoding --runs {args.runs} --rounds {args.rounds}")
    print(f"{result['spans_per_run']:.1f} spans a run; exporter-process CPU µs per run (mean ± SE over batches)\n")
    print("| encoding | µs per run |\n|---|---|")
    for key, label in (
        ("stock", "stock: rebuilt ReadableSpans + OTLP common encoder"),
        ("direct", "direct from tuples"),
    ):
        mean, se = result[key]
        print(f"| {label} | {mean:.1f} ± {se:.1f} |")
    print(f"\ndirect / stock: {result['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
