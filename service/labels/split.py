"""Split labels, the pure part: the shape rules of a weighted split and the sticky arm pick.

A split is 1 to 5 arms `{"version_id", "weight"}` with integer weights that sum to 100; the first arm is the baseline
(the label's `version_id`), the others are canaries. An arm's *variant* is its index in the split (0 = baseline).

The pick, the same in the server and in prompter_client (a test holds them equal):
    bucket = int.from_bytes(sha256(f"{name}\\x1f{label}\\x1f{key}".encode()).digest()[:8], "big") % 100
and the arm is the first whose cumulative weight exceeds the bucket. One caller key always lands in one bucket, so a
user keeps seeing one arm while the weights do not move past its bucket; raising a canary's weight only moves buckets
from the baseline to the canary (a step of a rollout never moves a user back)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.errors import Unprocessable

MAX_ARMS = 5
TOTAL_WEIGHT = 100


@dataclass(frozen=True, slots=True)
class Arm:
    version_id: int
    weight: int

    def stored(self) -> dict[str, int]:
        return {"version_id": self.version_id, "weight": self.weight}


def arms_of(stored: Sequence[dict[str, Any]] | None) -> list[Arm] | None:
    if not stored:
        return None
    return [Arm(int(arm["version_id"]), int(arm["weight"])) for arm in stored]


def stored_split(arms: Sequence[Arm] | None) -> list[dict[str, int]] | None:
    return [arm.stored() for arm in arms] if arms else None


def check_split(arms: Sequence[Arm]) -> list[Arm]:
    """The rules the request schema cannot state (sums, duplicates), each refusal naming the field (422
    invalid_split). Whether the versions are this prompt's is
    the service's check (it needs the database)."""
    if not 1 <= len(arms) <= MAX_ARMS:
        raise Unprocessable(
            f"`split` has {len(arms)} arms; give 1 to {MAX_ARMS} arms of {{version_id, weight}}.", code="invalid_split"
        )
    seen: set[int] = set()
    for index, arm in enumerate(arms):
        if not 1 <= arm.weight <= TOTAL_WEIGHT:
            raise Unprocessable(
                f"`split[{index}].weight` is {arm.weight}; each weight is an integer from 1 to {TOTAL_WEIGHT}.",
                code="invalid_split",
            )
        if arm.version_id in seen:
            raise Unprocessable(
                f"`split[{index}].version_id` {arm.version_id} appears twice; each version may be one arm only.",
                code="invalid_split",
            )
        seen.add(arm.version_id)
    total = sum(arm.weight for arm in arms)
    if total != TOTAL_WEIGHT:
        raise Unprocessable(f"`split` weights sum to {total}; they must sum to {TOTAL_WEIGHT}.", code="invalid_split")
    return list(arms)


def bucket(name: str, label: str, key: str) -> int:
    digest = hashlib.sha256(f"{name}\x1f{label}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % TOTAL_WEIGHT


def pick(arms: Sequence[Arm], at: int) -> int:
    """The variant (arm index) whose cumulative weight range holds bucket `at` (0..99)."""
    cumulative = 0
    for variant, arm in enumerate(arms):
        cumulative += arm.weight
        if at < cumulative:
            return variant
    return len(arms) - 1


def pick_for(arms: Sequence[Arm], name: str, label: str, key: str | None) -> int:
    """Sticky with a caller key; a random arm (by weight) without one."""
    at = bucket(name, label, key) if key is not None else random.randrange(TOTAL_WEIGHT)  # noqa: S311 - not security
    return pick(arms, at)
