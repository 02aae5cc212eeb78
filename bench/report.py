"""Turn the raw rounds into the results document (results.json) and its markdown table (results.md)."""

from __future__ import annotations

import statistics
from typing import Any

from bench.scenarios import HEALTHZ, LITESTAR_HEALTHZ, judge, target_row

TARGET_SCRAPE_MS = 20.0  # bench/micro.py's scrape; the load scenarios' targets are in bench/scenarios.py


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def summarize(scenario: Any, rounds_by_config: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians across rounds; ratios are medians of per-round ratios against the baseline of the same round."""
    base = {r["round"]: r for r in rounds_by_config[scenario.baseline]}
    configs = {}
    for config, label in scenario.configs.items():
        rounds = rounds_by_config[config]
        paired = [(r, base[r["round"]]) for r in rounds if r["round"] in base]
        rps_ratios = [r["rps"] / b["rps"] for r, b in paired if b["rps"]]
        capacity = [b["server_cpu_us"] / r["server_cpu_us"] for r, b in paired if r["server_cpu_us"]]
        added = [r["server_cpu_us"] - b["server_cpu_us"] for r, b in paired]
        configs[config] = {
            "label": label,
            "rps": _round(_median([r["rps"] for r in rounds]), 1),
            "rps_ratio": _round(_median(rps_ratios), 3),
            "rps_ratio_min": _round(min(rps_ratios, default=None), 3),
            "rps_ratio_max": _round(max(rps_ratios, default=None), 3),
            "p50_ms": _round(_median([r["p50_ms"] for r in rounds]), 2),
            "p99_ms": _round(_median([r["p99_ms"] for r in rounds]), 2),
            "server_cpu_us": _round(_median([r["server_cpu_us"] for r in rounds]), 1),
            "cpu_capacity_ratio": _round(_median(capacity), 3),
            "cpu_added_us": _round(_median(added), 1),
            "errors": sum(r["errors"] for r in rounds),
            "rounds": rounds,
        }
    return {
        "key": scenario.key,
        "title": scenario.title,
        "method": scenario.request.method,
        "path": scenario.request.path,
        "paths": {config: scenario.request_for(config).path for config in scenario.configs},
        "connections": scenario.connections,
        "note": scenario.note,
        "baseline": scenario.baseline,
        "configs": configs,
    }


_target = target_row


def provider_call_targets(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Provider calls per run (bench/provider_calls.py): one LLM call per run, with and without Redis."""
    out = []
    if calls:
        by = {"Redis" if row["redis"] else "no Redis": row for row in calls}
        measured = " / ".join(f"{row['calls_per_run']} ({name})" for name, row in by.items())
        out.append(
            _target(
                "provider calls per run: 1 without Redis / 1 with Redis",
                measured,
                all(row["calls_per_run"] == 1 and row["ok"] == row["runs"] for row in calls),
                "; ".join(
                    f"{name}: {r['runs']} runs, {r['completions']} completions, {r['probes']} probes"
                    for name, r in by.items()
                ),
            )
        )
    return out


def targets(table: dict[str, dict[str, Any]], micro: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets judged on bench/micro.py's in-process measurements (the scenarios' own are in bench/scenarios.py)."""
    out = []
    litestar = micro.get("litestar", {}).get("cpu", {}).get("us_added", {})
    ours, theirs = litestar.get("ours: metrics"), litestar.get("Litestar PrometheusPlugin")
    e2e_ours = table.get(HEALTHZ, {}).get("configs", {}).get("metrics", {})
    e2e_theirs = table.get(LITESTAR_HEALTHZ, {}).get("configs", {}).get("prometheus", {})
    detail = ""
    if e2e_ours and e2e_theirs:
        detail = (
            f"under wrk: ours {e2e_ours['rps_ratio']:.3f}x of off (+{e2e_ours['cpu_added_us']} us CPU/req), "
            f"Litestar's {e2e_theirs['rps_ratio']:.3f}x of bare (+{e2e_theirs['cpu_added_us']} us CPU/req)"
        )
    out.append(
        _target(
            "our HTTP metrics middleware cheaper than Litestar's PrometheusPlugin",
            f"in-process, same bare app: ours +{ours} us, Litestar's +{theirs} us per request"
            if ours is not None
            else "not measured",
            None if ours is None or theirs is None else ours < theirs,
            detail,
        )
    )
    scrape = {s["target"]: s for s in micro.get("scrape", [])}
    if 10000 in scrape:
        s = scrape[10000]
        served = s.get("fast") or s["text"]
        out.append(
            _target(
                f"/metrics scrape of 10k series <= {TARGET_SCRAPE_MS:.0f} ms",
                f"{served['median_ms']} ms ({s['series']} series, text format, telemetry/exposition.py; "
                f"byte-identical to the stock path: {s.get('fast_same_bytes', '-')})",
                served["median_ms"] <= TARGET_SCRAPE_MS,
                f"stock generate_latest {s['text']['median_ms']} ms; OpenMetrics (stock) {s['openmetrics']['median_ms']} "
                f"ms; direct-encoder prototype {s.get('prototype', {}).get('median_ms', '-')} ms",
            )
        )
    else:
        out.append(_target(f"/metrics scrape of 10k series <= {TARGET_SCRAPE_MS:.0f} ms", "not measured", None))
    return out


def traces(sink: dict[str, Any], sent: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Spans the local OTLP receiver got from each traced server, against the requests that server was sent."""
    out = []
    for service, names in sorted((sink.get("spans") or {}).items()):
        requests = sum(sent.get(service, {}).values())  # traced servers are named service.name = server name
        spans = sum(names.values())
        out.append(
            {
                "service": service,
                "requests_sent": requests,
                "spans": spans,
                "spans_per_request": round(spans / requests, 2) if requests else None,
                "span_names": names,
            }
        )
    return out


def build(
    *,
    meta: dict[str, Any],
    scenarios: list[Any],
    results: dict[str, Any],
    all_scenarios: list[Any] | None = None,
    skipped: dict[str, str],
    micro: dict[str, Any],
    sink: dict[str, Any],
    sent: dict[str, dict[str, int]],
    redis: dict[str, Any],
    log_findings: dict[str, list[str]],
    provider_calls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    table = {s.key: summarize(s, results[s.key]) for s in scenarios}
    return {
        "meta": meta,
        # Scenarios that were not run still list their targets ("not measured").
        "targets": provider_call_targets(provider_calls or [])
        + judge(table, all_scenarios or scenarios)
        + targets(table, micro),
        "provider_calls": provider_calls or [],
        "scenarios": list(table.values()),
        "skipped": skipped,
        "traces": traces(sink, sent),
        "otlp_receiver": {k: v for k, v in sink.items() if k != "spans"},
        "redis": redis,
        "requests_sent": sent,
        "server_log_findings": log_findings,
        "micro": micro,
    }


# -- markdown ---------------------------------------------------------------------------------------------------------
def _fmt(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def markdown(doc: dict[str, Any]) -> str:
    meta = doc["meta"]
    m = meta["machine"]
    lines = [
        "# Prompter telemetry benchmark",
        "",
        f"Produced by `{meta['command'].strip()}` on {meta['date']} (commit {meta['git_commit']}"
        + (f", plus uncommitted changes to {', '.join(meta['uncommitted'])}" if meta.get("uncommitted") else "")
        + f"): {m['cpus']} CPUs "
        f"({m['cpu']}), Python {m['python']}, Litestar {m['litestar']}, OpenTelemetry SDK {m['opentelemetry_sdk']}, "
        f"uvicorn {m['uvicorn']} (one process, access log off). Load: {meta['load_generator']} `-t1`, "
        f"{meta['rounds']} interleaved rounds of {meta['seconds_per_measurement']} s per configuration after "
        f"{meta['warmup_seconds']} s of warm-up. Raw numbers for every round: [results.json](results.json).",
        "",
        (
            "How to read it: each ratio is the median, across rounds, of (configuration / baseline measured in the same "
            "round), so drift of the machine cancels. *CPU µs/req* is the server process's own CPU time (all threads: the "
            "span exporter included) divided by the requests it answered; *capacity* = baseline CPU / configuration CPU "
            "per request, the RPS ratio a dedicated core would give. The machine is shared with other work, so CPU per "
            "request is the steadier figure."
        ),
        "",
        "## Targets",
        "",
        "| target | measured | status | detail |",
        "|---|---|---|---|",
    ]
    lines += [f"| {t['target']} | {t['measured']} | **{t['status']}** | {t['detail']} |" for t in doc["targets"]]
    lines += [
        "",
        "## Under load (wrk, 127.0.0.1)",
        "",
        (
            "| scenario | -c | configuration | RPS | RPS ratio (rounds min-max) | p50 ms | p99 ms | CPU µs/req | "
            "+CPU µs/req | capacity | errors |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for s in doc["scenarios"]:
        first = True
        for config in s["configs"].values():
            baseline = config is s["configs"][s["baseline"]]
            ratio = (
                "baseline"
                if baseline
                else (
                    f"{_fmt(config['rps_ratio'], '.3f')} ({_fmt(config['rps_ratio_min'], '.3f')}-"
                    f"{_fmt(config['rps_ratio_max'], '.3f')})"
                )
            )
            lines.append(
                f"| {s['title'] if first else ''} | {s['connections'] if first else ''} | {config['label']} | "
                f"{_fmt(config['rps'], ',.0f')} | {ratio} | {_fmt(config['p50_ms'], '.2f')} | "
                f"{_fmt(config['p99_ms'], '.2f')} | {_fmt(config['server_cpu_us'], ',.0f')} | "
                f"{'' if baseline else _fmt(config['cpu_added_us'], '+,.0f')} | "
                f"{'' if baseline else _fmt(config['cpu_capacity_ratio'], '.3f')} | {config['errors']} |"
            )
            first = False
        if s["note"] and s["note"] not in notes:
            notes.append(s["note"])
    lines += [""] + [f"- {note}" for note in notes]
    for key, reason in doc["skipped"].items():
        lines.append(f"- {key} skipped: {reason}")
    lines += _trace_lines(doc) + _redis_lines(doc) + _micro_lines(doc.get("micro") or {})
    lines += client_lines(doc.get("client") or {})
    if doc.get("ui_pages"):
        from bench.ui_pages import markdown as ui_pages_markdown

        lines += ["", ui_pages_markdown(doc["ui_pages"], level=2)]
    if doc["server_log_findings"]:
        lines += ["", "## Server log lines worth a look", ""]
        for server, found in doc["server_log_findings"].items():
            lines += [f"- {server}: `{line[:200]}`" for line in found]
    return "\n".join(lines) + "\n"


def _trace_lines(doc: dict[str, Any]) -> list[str]:
    if not doc["traces"]:
        return []
    lines = [
        "",
        "## Traces received by the local OTLP receiver",
        "",
        (
            f"{doc['otlp_receiver'].get('export_requests', 0)} OTLP/HTTP export requests, "
            f"{doc['otlp_receiver'].get('bytes', 0) / 1e6:.1f} MB. 100 % sampling: every request sent should appear "
            "as one server span (warm-up and seeding included)."
        ),
        "",
        "| traced server | requests sent | spans received | spans / request | most frequent span names |",
        "|---|---|---|---|---|",
    ]
    for t in doc["traces"]:
        top = ", ".join(f"`{name}` {count}" for name, count in list(t["span_names"].items())[:4])
        lines.append(
            f"| {t['service']} | {t['requests_sent']:,} | {t['spans']:,} | {_fmt(t['spans_per_request'])} | {top} |"
        )
    return lines


def _redis_lines(doc: dict[str, Any]) -> list[str]:
    redis = doc.get("redis") or {}
    if not redis:
        return []
    used = redis.get("keys", 0) or redis.get("keyspace_hits", 0)
    verdict = (
        "the probe cache used it"
        if used
        else "REDIS_URL had no effect on ensure-version: no key was written and none read (the Redis probe cache "
        "is not in this build), so ensure-version here probes the fake provider on every call"
    )
    return [
        "",
        "## Redis",
        "",
        (
            f"After the run the throwaway redis-server held {redis.get('keys')} keys, "
            f"{redis.get('keyspace_hits')} hits / {redis.get('keyspace_misses')} misses, "
            f"{redis.get('commands_processed')} commands: {verdict}."
        ),
    ]


def _micro_table(section: dict[str, Any]) -> list[str]:
    cpu, wall = section["cpu"], section["wall"]
    rows = ["| variant | CPU µs/request | added CPU µs | wall µs/request |", "|---|---|---|---|"]
    for name, value in cpu["us_per_request"].items():
        added = "baseline" if name == section["baseline"] else _fmt(cpu["us_added"].get(name), "+.1f")
        rows.append(f"| {name} | {value:.1f} | {added} | {wall['us_per_request'][name]:.1f} |")
    return rows


def _micro_lines(micro: dict[str, Any]) -> list[str]:
    if not micro:
        return []
    lines = [
        "",
        "## Micro-measurements (in-process, bench/micro.py)",
        "",
        (
            "CPU time of the measuring process per request; medians of interleaved rounds (wall time beside it). "
            "In the middleware and Litestar tables spans go to a batch processor whose exporter discards them; the "
            "in-process Prompter tables export OTLP/HTTP to the local receiver like the servers above, and add two "
            "what-ifs on PostgreSQL: spans discarded (no OTLP encoding) and no SQL/Redis statement spans."
        ),
        "",
    ]
    if "middleware" in micro:
        lines += [f"### HTTP metrics middleware alone: trivial ASGI app, {micro['middleware']['request']}", ""]
        lines += _micro_table(micro["middleware"])
    if "litestar" in micro:
        lines += [
            "",
            (f"### The same bare Litestar app: Litestar's plugins vs our middleware, {micro['litestar']['request']}"),
            "",
        ]
        lines += _micro_table(micro["litestar"])
    for backend, sections in (micro.get("full_stack") or {}).items():
        if backend == "gc":
            continue
        for name, section in sections.items():
            lines += ["", f"### Prompter in-process (create_app, {backend}, REDIS_URL set): {name}", ""]
            lines += _micro_table(section)
    gc_rows = (micro.get("full_stack") or {}).get("gc")
    if gc_rows:
        lines += [
            "",
            "### Garbage collector time, POST /api/prompt-templates/1/run in-process (SQLite)",
            "",
            (
                "Collector time per request (gc.callbacks) as the process runs, and after `gc.freeze()` moved every "
                "object alive after startup out of the collector's reach."
            ),
            "",
            (
                "| variant | GC µs/req | collections per 1k req (gen 0/1/2) | GC µs/req after gc.freeze() | "
                "collections after (0/1/2) |"
            ),
            "|---|---|---|---|---|",
        ]
        for name, phases in gc_rows.items():
            before, after = phases["as is"], phases["after gc.freeze()"]
            lines.append(
                f"| {name} | {before['gc_us_per_request']} | "
                f"{'/'.join(str(n) for n in before['collections_per_1000_requests'])} | "
                f"{after['gc_us_per_request']} | {'/'.join(str(n) for n in after['collections_per_1000_requests'])} |"
            )
    if micro.get("scrape"):
        lines += [
            "",
            "### /metrics scrape",
            "",
            (
                "Stock: `prometheus_client.generate_latest(handle.registry)` (text; OpenMetrics is what a Prometheus "
                "server asks for). Prototype: bench/exposition_prototype.py, the SDK's MetricsData written straight "
                "to text (checked to expose the same samples)."
            ),
            "",
            "| series | bytes | stock text ms | served (fast writer) ms | same bytes | stock OpenMetrics ms | "
            "prototype ms | same samples |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {s['series']:,} | {s['bytes']:,} | {s['text']['median_ms']} | {s.get('fast', {}).get('median_ms', '-')} | "
            f"{s.get('fast_same_bytes', '-')} | {s['openmetrics']['median_ms']} | "
            f"{s.get('prototype', {}).get('median_ms', '-')} | {s.get('prototype_same_samples', '-')} |"
            for s in micro["scrape"]
        ]
    if micro.get("record_calls"):
        lines += ["", "### One call (timeit, best of 5; metrics on unless marked)", "", "| call | µs |", "|---|---|"]
        lines += [f"| {name} | {us} |" for name, us in micro["record_calls"].items()]
    return lines


def client_lines(result: dict[str, Any]) -> list[str]:
    """The Python client section (bench/client.py) of results.md."""
    if not result:
        return []
    warm = result["warm"]
    lines = [
        "",
        "## Python client (bench/client.py)",
        "",
        f"Warm-cache `get_prompt` (a fresh entry: no I/O), µs per call over {warm['calls_per_repeat']:,} calls, "
        f"{warm['repeats']} repeats (target ≤ 5 µs):",
        "",
        "| call | best µs | median µs |",
        "|---|---|---|",
        f"| `Prompter.get_prompt(name)` | {warm['sync']['best_us']} | {warm['sync']['median_us']} |",
        f'| `Prompter.get_prompt(name, label="production")` | {warm["sync_label"]["best_us"]} | '
        f"{warm['sync_label']['median_us']} |",
        f"| `await AsyncPrompter.get_prompt(name)` | {warm['async']['best_us']} | {warm['async']['median_us']} |",
        f"| (an empty lambda, timeit's own cost) | {warm['empty_lambda']['best_us']} | "
        f"{warm['empty_lambda']['median_us']} |",
        "",
    ]
    observe = result.get("observe")
    if observe:
        lines += [
            f"Reporting an observation (`prompter_client.observe`), µs per call on the caller's path over "
            f"{observe['calls_per_repeat']:,} calls, {observe['repeats']} repeats (target ≤ 5 µs). Sending them "
            f"afterwards (reading the SDK responses, building and posting the batches; {observe['sent']:,} stored) "
            f"cost {observe['sender_cpu_us']} µs of the client process's CPU per observation, on the sender thread:",
            "",
            "| call | best µs | median µs |",
            "|---|---|---|",
            f"| `reporter.record(prompt, reported=..., latency_ms=..., ...)` | {observe['record']['best_us']} | "
            f"{observe['record']['median_us']} |",
            f"| `with reporter.observe(prompt) as call: call.response(openai_response)` | "
            f"{observe['observe']['best_us']} | {observe['observe']['median_us']} |",
            f"| `record()` inside a recording OpenTelemetry span (attributes set) | "
            f"{observe['record_in_span']['best_us']} | {observe['record_in_span']['median_us']} |",
            "",
        ]
    lines += [
        f"Under load against {result['server']}: every caller calls `get_prompt` on every key in a loop; the server "
        "counts the resolve requests (`starlette_requests_total`, route `/api/prompts/{name}`) (target: about 1 per "
        "key per TTL):",
        "",
        (
            "| callers | pause between rounds | keys | TTL s | s | get_prompt calls/s | server requests (by status) | "
            "requests per key per TTL |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for load in result["load"]:
        statuses = ", ".join(f"{n}× {s}" for s, n in load["by_status"].items())
        lines.append(
            f"| {load['callers']} | {load['pause_ms']:g} ms | {load['keys']} | {load['ttl_s']} | {load['seconds']} | {load['calls_per_s']:,} | "
            f"{load['server_requests']} ({statuses}) | {load['requests_per_key_per_ttl']} |"
        )
    return lines
