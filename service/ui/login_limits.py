"""The UI login's brake on guessing: after PROMPTER_UI_LOGIN_MAX_FAILURES failed logins within
PROMPTER_UI_LOGIN_WINDOW_S, from one client address or for one key id (the `pk_<id>_` prefix), further logins answer
429 with Retry-After until the oldest failure leaves the window.

Both counters matter: one address trying many keys, and many addresses (a botnet) trying one key id. Memory is
bounded: at most MAX_TRACKED addresses and key ids are remembered (least recently failed forgotten first), each with
at most max_failures timestamps. The counts live in each replica's memory, so behind N replicas a client gets up to
N times the budget; that still turns "full speed" into a handful of guesses per minute.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from service.auth import keys
from service.auth.service import AuthFailure
from service.errors import PrompterError

MAX_TRACKED = 10_000


class LoginThrottled(PrompterError):
    status, code = 429, "too_many_login_attempts"


class LoginLimiter:
    def __init__(
        self,
        *,
        max_failures: int,
        window_s: float,
        max_tracked: int = MAX_TRACKED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.window_s, self.max_tracked, self.clock = max_failures, window_s, max_tracked, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    @contextmanager
    def attempt(self, client: str, api_key: str) -> Iterator[None]:
        """Refuse the attempt while either counter is full; count it if the key is refused."""
        subjects = self._subjects(client, api_key)
        wait = max((self._wait(subject) for subject in subjects), default=0.0)
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            raise LoginThrottled(
                f"Too many failed logins; try again in {retry_after} s.", headers={"Retry-After": retry_after}
            )
        try:
            yield
        except AuthFailure:
            for subject in subjects:
                self._record(subject)
            raise

    def __len__(self) -> int:
        return len(self._failures)

    @staticmethod
    def _subjects(client: str, api_key: str) -> list[str]:
        parsed = keys.parse(api_key.strip())
        subjects = [f"client:{client}"]
        if parsed is not None:
            subjects.append(f"key:{parsed.key_id}")
        return subjects

    def _wait(self, subject: str) -> float:
        stamps = self._failures.get(subject)
        if stamps is None or len(stamps) < self.max_failures:
            return 0.0
        return self.window_s - (self.clock() - stamps[0])

    def _record(self, subject: str) -> None:
        stamps = self._failures.pop(subject, None) or deque(maxlen=self.max_failures)
        stamps.append(self.clock())
        self._failures[subject] = stamps  # most recent last: eviction takes the least recently failed
        while len(self._failures) > self.max_tracked:
            self._failures.popitem(last=False)
