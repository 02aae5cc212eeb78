"""bench.telemetry_cost: costs are per-step differences, and 10 % sampling is judged net of its traced tenth."""

from __future__ import annotations

import math
import random
from typing import Any

from bench.cost_verdicts import beyond_metrics, paired, sampled_floor, verdict


def _variant(samples: list[float]) -> dict[str, Any]:
    return {"samples": samples, "mean_us": sum(samples) / len(samples), "se_us": 1.0}


def _stats(costs: dict[str, float], steps: int = 400, noise: float = 500.0) -> dict[str, dict[str, Any]]:
    """Each step draws one slow-spell offset shared by every variant, as the bench's alternation does."""
    rng = random.Random(7)
    spells = [rng.uniform(0, noise) for _ in range(steps)]
    stats = {}
    for key, added in costs.items():
        stats[key] = _variant([3000 + added + spell + rng.gauss(0, 5) for spell in spells])
        stats[f"{key}_off"] = _variant([3000 + spell + rng.gauss(0, 5) for spell in spells])
    return stats


def test_a_slow_spell_shared_by_a_step_cancels_out_of_the_paired_error() -> None:
    stats = _stats({"metrics": 60.0})
    added, se, share = paired(stats, "metrics")  # type: ignore[misc]
    assert abs(added - 60) < 2 and se < 1  # independent means would carry the spells: ≈ 10 µs
    assert math.isclose(share, added / stats["metrics_off"]["mean_us"])


def test_sampled_tracing_is_judged_on_what_is_left_after_its_traced_tenth() -> None:
    free = _stats({"metrics": 60.0, "full": 360.0, "sampled": 90.0, "unsampled": 60.0})
    assert abs(sampled_floor(free, 0.1)[0] - 30) < 1  # type: ignore[index]
    assert verdict("sampled", free).endswith("met") and verdict("unsampled", free).endswith("met")

    dearer = _stats({"metrics": 60.0, "full": 360.0, "sampled": 130.0, "unsampled": 100.0})
    extra, _ = beyond_metrics(dearer, "unsampled")  # type: ignore[misc]
    assert abs(extra - 40) < 2
    assert verdict("sampled", dearer).endswith("missed") and verdict("unsampled", dearer).endswith("missed")


def test_figures_without_samples_fall_back_to_independent_means() -> None:
    stats = {
        "metrics": {"mean_us": 3100.0, "se_us": 3.0},
        "metrics_off": {"mean_us": 3000.0, "se_us": 4.0},
    }
    assert paired(stats, "metrics") == (100.0, 5.0, 100.0 / 3000.0)
