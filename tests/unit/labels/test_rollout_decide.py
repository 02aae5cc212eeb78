"""The rollout decision rules on made-up numbers: wait, abort (each guard), hold on identity drift, promote, complete;
and the policy checks that refuse impossible numbers naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.errors import Unprocessable
from service.labels.policy import ArmNumbers, Policy, check_policy, decide

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = Policy(steps=(10, 50, 100), min_calls=20, min_seconds=60, interval_s=10, max_error_rate_delta=0.05)
HEALTHY = ArmNumbers(calls=200, errors=2, p95_ms=100.0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_too_few_canary_calls_waits() -> None:
    decision = decide(POLICY, 0, T0, at(600), HEALTHY, ArmNumbers(calls=19, errors=19))
    assert decision.action == "wait" and decision.step == 0 and "19 of 20" in decision.reason


def test_a_failing_guard_aborts_without_waiting_for_min_seconds() -> None:
    canary = ArmNumbers(calls=20, errors=5, p95_ms=100.0)
    decision = decide(POLICY, 0, T0, at(1), HEALTHY, canary)
    assert decision.action == "abort" and "error rate" in decision.reason
    assert decision.numbers["canary"]["errors"] == 5 and decision.numbers["baseline"]["calls"] == 200


def test_latency_and_schema_guards_abort() -> None:
    slow = decide(POLICY, 0, T0, at(1), HEALTHY, ArmNumbers(calls=30, p95_ms=151.0))
    assert slow.action == "abort" and "p95" in slow.reason
    within = decide(POLICY, 0, T0, at(1), HEALTHY, ArmNumbers(calls=30, p95_ms=149.0))
    assert within.action == "wait"  # guards hold, the step is too young
    broken = decide(POLICY, 0, T0, at(1), HEALTHY, ArmNumbers(calls=30, schema_violations=1))
    assert broken.action == "abort" and "schema" in broken.reason
    unguarded = Policy(steps=(10, 100), min_calls=1, min_seconds=0, max_p95_ratio=None)
    assert decide(unguarded, 0, T0, at(1), HEALTHY, ArmNumbers(calls=30, p95_ms=10_000.0)).action == "complete"


def test_a_fast_baselines_latency_noise_does_not_abort() -> None:
    # A fake or cached provider answers in well under a millisecond: 0.2 ms against 0.05 ms is 4x the baseline but
    # nothing a user notices; before the absolute slack this aborted canaries whose real fault was another guard's.
    fast = ArmNumbers(calls=200, p95_ms=0.05)
    noisy = decide(POLICY, 0, T0, at(1), fast, ArmNumbers(calls=30, p95_ms=0.2))
    assert noisy.action == "wait", noisy.reason
    broken = decide(POLICY, 0, T0, at(1), fast, ArmNumbers(calls=30, p95_ms=0.2, schema_violations=30))
    assert broken.action == "abort" and "schema" in broken.reason
    strict = Policy(steps=(10, 100), min_calls=20, min_seconds=0, min_p95_delta_ms=0)
    assert decide(strict, 0, T0, at(1), fast, ArmNumbers(calls=30, p95_ms=0.2)).action == "abort"


def test_identity_drift_holds_even_when_the_numbers_are_good() -> None:
    decision = decide(POLICY, 1, T0, at(600), HEALTHY, ArmNumbers(calls=500, identity_mismatches=3))
    assert decision.action == "hold" and decision.step == 1 and "drifted" in decision.reason
    relaxed = Policy(**{**POLICY.stored(), "steps": (10, 50, 100), "hold_on_identity_drift": False})
    assert decide(relaxed, 1, T0, at(600), HEALTHY, ArmNumbers(calls=500, identity_mismatches=3)).action == "complete"


def test_healthy_steps_promote_then_complete() -> None:
    canary = ArmNumbers(calls=50, errors=1, p95_ms=110.0)
    assert decide(POLICY, 0, T0, at(59), HEALTHY, canary).action == "wait"
    promoted = decide(POLICY, 0, T0, at(60), HEALTHY, canary)
    assert (promoted.action, promoted.step, promoted.weight) == ("promote", 1, 50)
    completed = decide(POLICY, 1, T0, at(60), HEALTHY, canary)
    assert (completed.action, completed.step, completed.weight) == ("complete", 2, 100)


def test_error_rate_is_compared_with_the_baselines() -> None:
    noisy_baseline = ArmNumbers(calls=100, errors=20)
    assert decide(POLICY, 0, T0, at(60), noisy_baseline, ArmNumbers(calls=100, errors=24)).action == "promote"
    assert decide(POLICY, 0, T0, at(60), noisy_baseline, ArmNumbers(calls=100, errors=26)).action == "abort"


@pytest.mark.parametrize(
    ("policy", "weights", "field"),
    [
        (Policy(steps=(50, 10, 100)), [50], "policy.steps"),
        (Policy(steps=(10, 50)), [10], "policy.steps"),
        (Policy(steps=(100,)), [100], "policy.steps"),
        (Policy(steps=(10, 100)), [20], "policy.steps"),
        (Policy(steps=(10, 100)), [5, 5], "policy.steps"),
        (Policy(steps=(10, 100), min_calls=0), [10], "policy.min_calls"),
        (Policy(steps=(10, 100), interval_s=1), [10], "policy.interval_s"),
        (Policy(steps=(10, 100), max_p95_ratio=0.5), [10], "policy.max_p95_ratio"),
        (Policy(steps=(10, 100), max_error_rate_delta=2), [10], "policy.max_error_rate_delta"),
        (Policy(steps=(10, 100), min_p95_delta_ms=-1), [10], "policy.min_p95_delta_ms"),
    ],
)
def test_impossible_policies_are_refused_naming_the_field(policy: Policy, weights: list[int], field: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_policy(policy, weights, min_interval_s=5)
    assert refused.value.code == "invalid_policy" and f"`{field}`" in refused.value.detail


def test_a_policy_survives_its_stored_form() -> None:
    assert Policy.of_stored(POLICY.stored()) == POLICY
    assert check_policy(POLICY, [10], min_interval_s=5) == POLICY
