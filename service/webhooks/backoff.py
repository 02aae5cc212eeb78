"""When a failed delivery is tried again: exponential back-off with jitter, capped, for a bounded window.

Attempt n (1 = the first retry) waits base * 2**(n-1), at most `cap`, of which a random half ("equal jitter"): the
waits keep growing, yet the receivers of one outage do not all come back at the same instant. With the defaults
(5 s, capped at 1 h, for a day) that is about 30 attempts."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float
    cap_s: float
    window_s: float

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempt`-th failed attempt (attempt >= 1)."""
        exponent = min(max(attempt, 1) - 1, 62)  # 2**62 * base is past any cap: no float overflow
        ceiling = min(self.cap_s, self.base_s * 2.0**exponent)
        jitter = (rng or random).random()
        return ceiling / 2 + ceiling / 2 * jitter

    def gives_up(self, age_s: float) -> bool:
        """Whether a delivery first due `age_s` seconds ago has been retried long enough."""
        return age_s >= self.window_s
