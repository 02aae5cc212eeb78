"""The statistics behind bench.telemetry_cost's verdicts: a variant's cost is the mean of its per-step differences
from its own app switched off (a randomized block design: both ran in the same step of the alternation, so a slow
spell of the machine that lands on both cancels out), with that mean's standard error, judged against a target.

10 % sampling is judged net of its floor, a tenth of what full tracing adds beyond metrics only: the traced requests
pay for their spans whatever the sampler does, so "within 1 SE" can hold literally only for what is left."""

from __future__ import annotations

import math
import statistics
from typing import Any

# Targets, as fractions of telemetry off's CPU per request (the sampled ones are judged against metrics only).
TARGETS = {"metrics": 0.03, "full": 0.10, "inline": 0.10, "nostmt": 0.10}
SAMPLED_RATIO = 0.1  # the `sampled` variant's OTEL_TRACES_SAMPLER_ARG


def summary(samples: list[float]) -> dict[str, float]:
    mean, se = mean_se(samples)
    return {"n": len(samples), "mean_us": mean, "se_us": se, "median_us": statistics.median(samples)}


def compare(stats: dict[str, dict[str, float]], baseline: str = "off") -> dict[str, dict[str, float]]:
    """Added µs (± standard error of the difference) and ratio baseline/variant (throughput at equal CPU)."""
    base = stats[baseline]
    out: dict[str, dict[str, float]] = {}
    for key, s in stats.items():
        out[key] = {
            "added_us": s["mean_us"] - base["mean_us"],
            "added_se_us": math.hypot(s["se_us"], base["se_us"]),
            "ratio": base["mean_us"] / s["mean_us"],
            "share": (s["mean_us"] - base["mean_us"]) / base["mean_us"],
        }
    return out


def differences(stats: dict[str, Any], key: str, minus: str) -> list[float] | None:
    """Per step, `key`'s request minus `minus`'s: the two ran in the same step of the alternation (a block), so a slow
    spell of the machine that lands on both cancels out of the difference instead of widening its error."""
    on, off = stats.get(key, {}).get("samples"), stats.get(minus, {}).get("samples")
    if on is None or off is None or len(on) != len(off):
        return None
    return [a - b for a, b in zip(on, off, strict=True)]


def mean_se(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


def paired(stats: dict[str, dict[str, Any]], key: str) -> tuple[float, float, float] | None:
    """(µs added, its standard error, share) of a variant over its own app switched off, if that was measured. The
    error is that of the per-step differences (a randomized block design); without the samples (figures read back
    from an older JSON), that of two independent means."""
    twin = f"{key}_off"
    if twin not in stats:
        return None
    on, off = stats[key], stats[twin]
    steps = differences(stats, key, twin)
    if steps is not None:
        added, se = mean_se(steps)
    else:
        added, se = on["mean_us"] - off["mean_us"], math.hypot(on["se_us"], off["se_us"])
    return added, se, added / off["mean_us"]


def beyond_metrics(stats: dict[str, dict[str, Any]], key: str) -> tuple[float, float] | None:
    """(µs, standard error) a tracing variant adds beyond metrics only, each over its own app switched off, paired per
    step: (key - key switched off) - (metrics - metrics switched off)."""
    parts = [differences(stats, key, f"{key}_off"), differences(stats, "metrics", "metrics_off")]
    if parts[0] is not None and parts[1] is not None:
        return mean_se([a - b for a, b in zip(parts[0], parts[1], strict=True)])
    pair, metrics = paired(stats, key), paired(stats, "metrics")
    if pair is None or metrics is None:
        return None
    return pair[0] - metrics[0], math.hypot(pair[1], metrics[1])


def sampled_floor(stats: dict[str, dict[str, Any]], ratio: float) -> tuple[float, float] | None:
    """What the traced share of a sampled variant costs at least: `ratio` of what 100 % tracing adds beyond metrics
    only (the traced requests pay for their spans; nothing a sampler does makes them cheaper)."""
    full = beyond_metrics(stats, "full")
    return (ratio * full[0], ratio * full[1]) if full is not None else None


def verdict(key: str, stats: dict[str, dict[str, Any]]) -> str:
    pair = paired(stats, key)
    if pair is None:
        return ""
    if key in TARGETS:
        return f"≤ {TARGETS[key]:.0%}: {'met' if pair[2] <= TARGETS[key] else 'missed'}"
    extra = beyond_metrics(stats, key)
    if extra is None:
        return ""
    text = f"vs metrics only {extra[0]:+.0f} ± {extra[1]:.0f} µs"
    floor = sampled_floor(stats, SAMPLED_RATIO) if key == "sampled" else None
    if key == "unsampled" or (key == "sampled" and floor is None):
        return f"{text}, {within_se(*extra)}"
    if floor is not None:
        rest, se = extra[0] - floor[0], math.hypot(extra[1], floor[1])
        return f"{text}; a tenth of full tracing's is {floor[0]:.0f}, the rest {rest:+.0f} ± {se:.0f}, {within_se(rest, se)}"
    return ""


def within_se(value: float, se: float) -> str:
    return f"within 1 SE: {'met' if value <= se else 'missed'}"
