"""Rollout policies and their decisions, the pure part (no database, no clock of its own: tests drive it with fakes).

A policy rides on a two-arm split (baseline first, canary second): `steps` are the canary's weights in turn (the split
starts at the first; the last is 100), and each step lasts at least `min_seconds` and `min_calls` canary calls. Every
`interval_s` the rollout worker measures both arms since the step began and asks `decide`:

- hold     the canary's model identity drifted (a call reported another identity than its version was pinned to):
           the rollout stops where it is until someone moves the label; nothing is promoted on numbers from a model
           nobody reviewed.
- wait     fewer than `min_calls` canary calls yet, or the step is younger than `min_seconds` with the guards holding.
- abort    a guard failed (once the canary has `min_calls` calls, without waiting for `min_seconds`): the label rolls
           back to its target before the split.
- promote  the guards held for the whole step: the canary gets the next step's weight.
- complete the next step is 100: the label points at the canary alone.

The guards compare the canary with the baseline, as Flagger and Argo Rollouts compare a canary's metrics: error rate
(canary minus baseline at most `max_error_rate_delta`), p95 latency (canary / baseline at most `max_p95_ratio`, and only
once the canary is also `min_p95_delta_ms` slower: a ratio of two sub-millisecond figures is noise, as Flagger's
latency thresholds are absolute), response-schema violations (rate delta at most `max_schema_violation_delta`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from service.errors import Unprocessable

MAX_STEPS = 10


@dataclass(frozen=True, slots=True)
class Policy:
    steps: tuple[int, ...] = (10, 50, 100)
    min_calls: int = 20
    min_seconds: float = 60.0
    interval_s: float = 30.0
    max_error_rate_delta: float = 0.05
    max_p95_ratio: float | None = 1.5
    min_p95_delta_ms: float = 50.0
    max_schema_violation_delta: float = 0.0
    hold_on_identity_drift: bool = True

    def stored(self) -> dict[str, Any]:
        stored = asdict(self)
        stored["steps"] = list(self.steps)
        return stored

    @classmethod
    def of_stored(cls, stored: dict[str, Any]) -> Policy:
        return cls(**{**stored, "steps": tuple(stored["steps"])})


def _refuse(field: str, detail: str) -> Unprocessable:
    return Unprocessable(f"`policy.{field}` {detail}", code="invalid_policy", field=f"policy.{field}")


def check_policy(policy: Policy, canary_weights: list[int], *, min_interval_s: float) -> Policy:
    """The numbers a rollout can follow, each refusal naming its field (422 invalid_policy). `canary_weights` are the
    split's weights after the baseline: a policy needs exactly one canary, at the first step's weight."""
    steps = policy.steps
    if not 1 <= len(steps) <= MAX_STEPS:
        raise _refuse("steps", f"has {len(steps)} steps; give 1 to {MAX_STEPS} canary weights ending with 100.")
    if any(not 1 <= step <= 100 for step in steps) or list(steps) != sorted(set(steps)):
        raise _refuse("steps", f"is {list(steps)}; give strictly increasing weights from 1 to 100.")
    if steps[-1] != 100:
        raise _refuse("steps", f"ends at {steps[-1]}; the last step must be 100 (the canary takes all traffic).")
    if len(steps) < 2:
        raise _refuse("steps", "is only [100]; start with the canary's first weight below 100, e.g. [10, 50, 100].")
    if len(canary_weights) != 1:
        raise _refuse(
            "steps", f"needs a split of exactly 2 arms (baseline, canary); this one has {len(canary_weights) + 1}."
        )
    if canary_weights[0] != steps[0]:
        raise _refuse(
            "steps", f"starts at {steps[0]} but the canary arm's weight is {canary_weights[0]}; make them equal."
        )
    if policy.min_calls < 1:
        raise _refuse("min_calls", f"is {policy.min_calls}; at least 1 canary call is needed to judge a step.")
    if policy.min_seconds < 0:
        raise _refuse("min_seconds", f"is {policy.min_seconds}; give 0 or more seconds.")
    if policy.interval_s < min_interval_s:
        raise _refuse(
            "interval_s",
            f"is {policy.interval_s}; the minimum is {min_interval_s} s (PROMPTER_ROLLOUT_MIN_INTERVAL_S).",
        )
    if not 0 <= policy.max_error_rate_delta <= 1:
        raise _refuse("max_error_rate_delta", f"is {policy.max_error_rate_delta}; give a fraction from 0 to 1.")
    if policy.max_p95_ratio is not None and policy.max_p95_ratio < 1:
        raise _refuse("max_p95_ratio", f"is {policy.max_p95_ratio}; give 1 or more (or null for no latency guard).")
    if policy.min_p95_delta_ms < 0:
        raise _refuse("min_p95_delta_ms", f"is {policy.min_p95_delta_ms}; give 0 or more milliseconds.")
    if not 0 <= policy.max_schema_violation_delta <= 1:
        raise _refuse("max_schema_violation_delta", f"is {policy.max_schema_violation_delta}; give 0 to 1.")
    return policy


@dataclass(frozen=True, slots=True)
class ArmNumbers:
    """One arm's calls since the step began: runs through the label and reported observations together."""

    calls: int = 0
    errors: int = 0
    p95_ms: float | None = None
    schema_violations: int = 0
    identity_mismatches: int = 0

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    @property
    def schema_violation_rate(self) -> float:
        return self.schema_violations / self.calls if self.calls else 0.0

    def shown(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 4),
            "p95_ms": None if self.p95_ms is None else round(self.p95_ms, 3),
            "schema_violations": self.schema_violations,
            "identity_mismatches": self.identity_mismatches,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    action: str  # wait | hold | abort | promote | complete
    reason: str
    step: int  # the step index after the decision
    weight: int  # the canary's weight after the decision
    numbers: dict[str, Any]


def decide(
    policy: Policy,
    step: int,
    step_started_at: datetime,
    now: datetime,
    baseline: ArmNumbers,
    canary: ArmNumbers,
) -> Decision:
    weight = policy.steps[step]
    elapsed = (now - step_started_at).total_seconds()
    numbers = {"baseline": baseline.shown(), "canary": canary.shown(), "step_seconds": round(elapsed, 3)}

    def made(action: str, reason: str, to_step: int = step) -> Decision:
        return Decision(action, reason, to_step, policy.steps[to_step], numbers)

    if policy.hold_on_identity_drift and canary.identity_mismatches > 0:
        return made("hold", f"the canary's model identity drifted in {canary.identity_mismatches} calls")
    if canary.calls < policy.min_calls:
        return made("wait", f"{canary.calls} of {policy.min_calls} canary calls at {weight} %")
    delta = canary.error_rate - baseline.error_rate
    if delta > policy.max_error_rate_delta:
        return made(
            "abort",
            f"canary error rate {canary.error_rate:.2%} exceeds the baseline's {baseline.error_rate:.2%} by "
            f"{delta:.2%} (max {policy.max_error_rate_delta:.2%})",
        )
    if policy.max_p95_ratio is not None and canary.p95_ms is not None and baseline.p95_ms:
        ratio = canary.p95_ms / baseline.p95_ms
        slower_ms = canary.p95_ms - baseline.p95_ms
        if ratio > policy.max_p95_ratio and slower_ms > policy.min_p95_delta_ms:
            return made(
                "abort",
                f"canary p95 latency {canary.p95_ms:.1f} ms is {ratio:.2f}x the baseline's {baseline.p95_ms:.1f} ms "
                f"(max {policy.max_p95_ratio}x) and {slower_ms:.1f} ms slower (allowed {policy.min_p95_delta_ms:g} ms)",
            )
    schema_delta = canary.schema_violation_rate - baseline.schema_violation_rate
    if schema_delta > policy.max_schema_violation_delta:
        return made(
            "abort",
            f"canary schema violation rate {canary.schema_violation_rate:.2%} exceeds the baseline's by "
            f"{schema_delta:.2%} (max {policy.max_schema_violation_delta:.2%})",
        )
    if elapsed < policy.min_seconds:
        return made("wait", f"guards hold; step at {weight} % is {elapsed:.0f} of {policy.min_seconds:.0f} s old")
    nxt = step + 1
    if policy.steps[nxt] >= 100:
        return made("complete", f"guards held for {elapsed:.0f} s and {canary.calls} calls at {weight} %", nxt)
    return made(
        "promote",
        f"guards held for {elapsed:.0f} s and {canary.calls} calls at {weight} %; next {policy.steps[nxt]} %",
        nxt,
    )


def start_state(policy: Policy, now: datetime) -> dict[str, Any]:
    """A new rollout's progress as the label keeps it (prompt_labels.rollout)."""
    return {
        "status": "running",  # running | held | aborted | completed | superseded
        "policy": policy.stored(),
        "step": 0,
        "step_started_at": now.isoformat(),
        "last_analysis_at": now.isoformat(),
        "last_decision": None,
    }
