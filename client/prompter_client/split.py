"""Picking a split label's arm locally, with the server's rule (service/labels/split.py; a test holds them equal):

    bucket = int.from_bytes(sha256(f"{name}\\x1f{label}\\x1f{key}".encode()).digest()[:8], "big") % 100

and the arm is the first whose cumulative weight exceeds the bucket. One key always gets one arm; no key, a random one.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

TOTAL_WEIGHT = 100


def bucket(name: str, label: str, key: str) -> int:
    digest = hashlib.sha256(f"{name}\x1f{label}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % TOTAL_WEIGHT


def pick(weights: Sequence[int], at: int) -> int:
    cumulative = 0
    for variant, weight in enumerate(weights):
        cumulative += weight
        if at < cumulative:
            return variant
    return len(weights) - 1


def pick_for(weights: Sequence[int], name: str, label: str, key: str | None) -> int:
    at = bucket(name, label, key) if key is not None else random.randrange(TOTAL_WEIGHT)  # noqa: S311 - not security
    return pick(weights, at)
