"""`python -m bench.client`: what the Python client (client/, prompter_client) costs the application and the server.

  warm      get_prompt on a fresh cache entry, µs per call: Prompter and AsyncPrompter (target: ≤ 5 µs). timeit over
            many calls, several repeats; the table shows the best and the median repeat.
  observe   prompter_client.observe: µs per recorded observation on the caller's path (target: ≤ 5 µs): `record()`,
            the `observe()` context manager reading an OpenAI SDK response, and `record()` inside a recording
            OpenTelemetry span (the prompt and identity set on it). The Reporter sends to the bench server meanwhile.
  load      T threads (Prompter) or T tasks (AsyncPrompter) call get_prompt on K keys for D seconds with a short
            TTL, in a tight loop (the worst case: the callers compete with the refresh for the GIL) and with 1 ms of
            the caller's own work (a sleep, like a web handler's I/O) after each round of keys. The server counts the requests (starlette_requests_total for the resolve
            route, by status), so "requests per key per TTL" is measured where it costs: target about 1 (one
            revalidation per key per TTL however many callers; a 304 when the prompt did not change).

The server is `prompter serve` (one process, SQLite, metrics on) on a free port, seeded with K prompts labelled
`production`. `python -m bench.client [--quick] [--json out.json]`; `python -m bench` runs it and reports it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
import timeit
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prompter_client import AsyncPrompter, Prompter

from bench import report
from bench.servers import PrompterServer

RESOLVE_ROUTE = "/api/prompts/{name}"
TENANT = {"org_id": "bench", "workspace_id": "client"}


def seed(base_url: str, keys: int) -> list[str]:
    """K prompts, each with a version and the `production` label on it."""
    names = []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for i in range(keys):
            name = f"bench-{i}"
            template = http.post(
                "/api/prompt-templates", json={**TENANT, "name": name, "body": f"Hello {{{{ name }}}} #{i}"}
            )
            template.raise_for_status()
            version = http.post(
                f"/api/prompt-templates/{template.json()['id']}/ensure-version",
                json={"provider": "openai", "model_id": "gpt-4o"},
            )
            version.raise_for_status()
            label = http.put(
                f"/api/prompts/{name}/labels/production", json={**TENANT, "version_id": version.json()["id"]}
            )
            label.raise_for_status()
            names.append(name)
    return names


def resolve_requests(base_url: str) -> dict[str, float]:
    """GETs of the resolve route the server has answered so far, by status."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name != "starlette_requests_total":
                continue
            labels = sample.labels
            if labels.get("route") == RESOLVE_ROUTE and labels.get("method") == "GET":
                counts[labels["status"]] = counts.get(labels["status"], 0.0) + sample.value
    return counts


def _per_call_us(timings: list[float], number: int) -> dict[str, float]:
    per_call = [t / number * 1e6 for t in timings]
    return {"best_us": round(min(per_call), 3), "median_us": round(statistics.median(per_call), 3)}


def measure_warm(base_url: str, name: str, number: int, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {"calls_per_repeat": number, "repeats": repeat}
    with Prompter(base_url, **TENANT) as p:
        p.get_prompt(name)  # the one request; every timed call is a cache hit
        out["sync"] = _per_call_us(timeit.repeat(lambda: p.get_prompt(name), number=number, repeat=repeat), number)
        out["sync_label"] = _per_call_us(
            timeit.repeat(lambda: p.get_prompt(name, label="production"), number=number, repeat=repeat), number
        )
        out["empty_lambda"] = _per_call_us(timeit.repeat(lambda: None, number=number, repeat=repeat), number)

    async def async_warm() -> list[float]:
        async with AsyncPrompter(base_url, **TENANT) as p:
            await p.get_prompt(name)
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                for _ in range(number):
                    await p.get_prompt(name)
                timings.append(time.perf_counter() - started)
            return timings

    out["async"] = _per_call_us(asyncio.run(async_warm()), number)
    return out


def measure_observe(base_url: str, name: str, number: int, repeat: int) -> dict[str, Any]:
    from openai.types.chat import ChatCompletion
    from opentelemetry.sdk.trace import TracerProvider
    from prompter_client.observe import Reporter

    response = ChatCompletion.model_validate(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-2024-08-06",
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )
    reported = {"system_fingerprint": "fp_bench", "model": "gpt-4o-2024-08-06"}
    out: dict[str, Any] = {"calls_per_repeat": number, "repeats": repeat}
    # The caller's path alone: the queue holds every timed call and the sender is not woken while timing (it would
    # take the GIL from the timed loop). What sending costs is measured after, by flushing what was recorded.
    held = {"batch_size": number * repeat, "max_queue": number * repeat, "flush_interval_s": 3600.0}
    with Prompter(base_url, **TENANT) as p:
        prompt = p.get_prompt(name)
        for case in ("record", "observe", "record_in_span"):
            with Reporter(base_url, **TENANT, **held) as reporter:

                def record() -> None:
                    reporter.record(prompt, reported, latency_ms=120.0, input_tokens=3, output_tokens=2)

                def context_manager() -> None:
                    with reporter.observe(prompt) as call:
                        call.response(response)

                timed = context_manager if case == "observe" else record
                if case == "record_in_span":
                    with TracerProvider().get_tracer("bench").start_as_current_span("app call"):
                        out[case] = _per_call_us(timeit.repeat(timed, number=number, repeat=repeat), number)
                else:
                    out[case] = _per_call_us(timeit.repeat(timed, number=number, repeat=repeat), number)
                if case == "observe":
                    queued = reporter.pending
                    reporter.batch_size = 100  # the default; the server takes at most 500 per batch
                    started = time.process_time()
                    reporter.flush(timeout_s=600)
                    out["sender_cpu_us"] = round((time.process_time() - started) / max(queued, 1) * 1e6, 2)
                    out["sent"] = reporter.sent
    return out


def measure_sync_load(
    base_url: str, names: list[str], threads: int, seconds: float, ttl: float, pause: float
) -> dict[str, Any]:
    stop = threading.Event()
    calls = [0] * threads
    with Prompter(base_url, cache_ttl_s=ttl, **TENANT) as p:
        for name in names:
            p.get_prompt(name)
        before = resolve_requests(base_url)

        def worker(index: int) -> None:
            n = 0
            while not stop.is_set():
                for name in names:
                    p.get_prompt(name)
                n += len(names)
                if pause:
                    time.sleep(pause)  # the caller's own work (I/O) between prompt lookups
            calls[index] = n

        workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        time.sleep(seconds)
        stop.set()
        for w in workers:
            w.join(30)
        elapsed = time.perf_counter() - started
        time.sleep(0.2)  # let a refresh that was in flight at the stop reach the server's counters
    return _load_result(base_url, before, len(names), elapsed, ttl, sum(calls), f"{threads} threads", pause)


def measure_async_load(
    base_url: str, names: list[str], tasks: int, seconds: float, ttl: float, pause: float
) -> dict[str, Any]:
    async def run() -> tuple[dict[str, float], float, int]:
        async with AsyncPrompter(base_url, cache_ttl_s=ttl, **TENANT) as p:
            for name in names:
                await p.get_prompt(name)
            before = resolve_requests(base_url)
            deadline = time.perf_counter() + seconds
            calls = [0] * tasks

            async def worker(index: int) -> None:
                n = 0
                while time.perf_counter() < deadline:
                    for name in names:
                        await p.get_prompt(name)
                    n += len(names)
                    await asyncio.sleep(pause)  # a cache hit never yields; the caller's own work (0: just yield)
                calls[index] = n

            started = time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(tasks)))
            elapsed = time.perf_counter() - started
            await asyncio.sleep(0.2)
            return before, elapsed, sum(calls)

    before, elapsed, calls = asyncio.run(run())
    return _load_result(base_url, before, len(names), elapsed, ttl, calls, f"{tasks} tasks", pause)


def _load_result(
    base_url: str,
    before: dict[str, float],
    keys: int,
    elapsed: float,
    ttl: float,
    calls: int,
    callers: str,
    pause: float,
) -> dict[str, Any]:
    after = resolve_requests(base_url)
    by_status = {s: int(after.get(s, 0) - before.get(s, 0)) for s in sorted(after) if after[s] - before.get(s, 0)}
    requests = sum(by_status.values())
    ttls = elapsed / ttl
    return {
        "callers": callers,
        "pause_ms": pause * 1000,
        "keys": keys,
        "seconds": round(elapsed, 2),
        "ttl_s": ttl,
        "calls": calls,
        "calls_per_s": round(calls / elapsed),
        "server_requests": requests,
        "by_status": by_status,
        "requests_per_key_per_ttl": round(requests / keys / ttls, 3),
    }


def run(quick: bool) -> dict[str, Any]:
    number, repeat = (100_000, 3) if quick else (500_000, 7)
    seconds, ttl, keys, callers = (2.0, 0.25, 4, 16) if quick else (6.0, 0.5, 8, 50)
    workdir = Path(tempfile.mkdtemp(prefix="prompter-bench-client-"))
    server = PrompterServer("client-bench", {"DB_URL": f"sqlite:///{workdir}/bench.db"}, workdir)
    try:
        server.wait_ready()
        names = seed(server.base_url, keys)
        return {
            "server": "prompter serve, SQLite, metrics on",
            "warm": measure_warm(server.base_url, names[0], number, repeat),
            "observe": measure_observe(server.base_url, names[0], number // 5, repeat),
            "load": [
                measure(server.base_url, names, callers, seconds, ttl, pause)
                for pause in (0.0, 0.001)
                for measure in (measure_sync_load, measure_async_load)
            ],
        }
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.client", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls, 2 s of load (about 20 s in all)")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    result = run(args.quick)
    print("\n".join(report.client_lines(result)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
