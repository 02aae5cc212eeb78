"""The split rules on their own: weights and arms, the cumulative pick, and why a rollout step never moves a user
from the canary back to the baseline."""

from __future__ import annotations

import pytest

from service.errors import Unprocessable
from service.labels.split import Arm, bucket, check_split, pick, pick_for


def test_pick_walks_cumulative_weights() -> None:
    arms = [Arm(1, 70), Arm(2, 20), Arm(3, 10)]
    assert [pick(arms, at) for at in (0, 69, 70, 89, 90, 99)] == [0, 0, 1, 1, 2, 2]


def test_the_bucket_is_stable_and_spread() -> None:
    assert bucket("greet", "production", "user-1") == bucket("greet", "production", "user-1")
    assert 0 <= bucket("greet", "production", "x") < 100
    counts = [0] * 100
    for n in range(20_000):
        counts[bucket("greet", "production", f"user-{n}")] += 1
    assert min(counts) > 120 and max(counts) < 280  # about 200 per bucket
    # The label and the prompt take part: another label splits the same users differently.
    same = sum(bucket("greet", "a", f"u{n}") == bucket("greet", "b", f"u{n}") for n in range(1000))
    assert same < 50


def test_a_larger_canary_weight_only_moves_users_onto_the_canary() -> None:
    keys = [f"user-{n}" for n in range(2000)]
    on_canary: set[str] = set()
    for weight in (10, 25, 50, 75, 99):
        arms = [Arm(1, 100 - weight), Arm(2, weight)]
        now = {key for key in keys if pick_for(arms, "greet", "production", key) == 1}
        assert on_canary <= now
        on_canary = now
    assert 1900 < len(on_canary) < 2000


@pytest.mark.parametrize(
    ("arms", "field"),
    [
        ([Arm(1, 50), Arm(2, 40)], "sum to 90"),
        ([Arm(1, 50), Arm(1, 50)], "split[1].version_id"),
        ([Arm(1, 0), Arm(2, 100)], "split[0].weight"),
        ([Arm(n, 20) for n in range(6)], "6 arms"),
        ([], "0 arms"),
    ],
)
def test_bad_splits_name_the_field(arms: list[Arm], field: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_split(arms)
    assert refused.value.code == "invalid_split" and field in refused.value.detail


def test_one_to_five_arms_summing_to_100_pass() -> None:
    assert check_split([Arm(1, 100)]) == [Arm(1, 100)]
    assert len(check_split([Arm(n, 20) for n in range(5)])) == 5
