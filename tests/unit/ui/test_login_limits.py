"""The login brake: per client address and per key id, a sliding window, bounded memory."""

from __future__ import annotations

import pytest

from service.auth.service import AuthFailure
from service.ui.login_limits import LoginLimiter, LoginThrottled

KEY = "pk_0123456789ab_" + "s" * 43
OTHER_KEY = "pk_ba9876543210_" + "s" * 43


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(limiter: LoginLimiter, client: str, key: str) -> None:
    with pytest.raises(AuthFailure), limiter.attempt(client, key):
        raise AuthFailure("unknown", "no")


def test_one_client_is_braked_after_the_budget_until_the_window_passes():
    clock = Clock()
    limiter = LoginLimiter(max_failures=3, window_s=60, clock=clock)
    for n in range(3):
        fail(limiter, "10.0.0.1", f"pk_{n:012x}_x")  # a different key id each time: the client counter fills
    with pytest.raises(LoginThrottled) as refused, limiter.attempt("10.0.0.1", OTHER_KEY):
        pass
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "60"
    clock.now += 59.5
    with pytest.raises(LoginThrottled) as refused, limiter.attempt("10.0.0.1", OTHER_KEY):
        pass
    assert refused.value.headers["Retry-After"] == "1"
    clock.now += 1
    with limiter.attempt("10.0.0.1", OTHER_KEY):
        pass  # the oldest failure left the window
    with limiter.attempt("10.0.0.2", OTHER_KEY):
        pass  # other clients were never braked


def test_one_key_id_is_braked_for_every_client():
    limiter = LoginLimiter(max_failures=3, window_s=60, clock=Clock())
    for n in range(3):
        fail(limiter, f"10.0.1.{n}", KEY)
    with pytest.raises(LoginThrottled), limiter.attempt("10.0.9.9", KEY):
        pass
    with limiter.attempt("10.0.9.9", OTHER_KEY):
        pass


def test_successful_logins_are_not_counted():
    limiter = LoginLimiter(max_failures=2, window_s=60, clock=Clock())
    for _ in range(10):
        with limiter.attempt("10.0.0.1", KEY):
            pass
    assert len(limiter) == 0


def test_memory_is_bounded_and_the_least_recent_is_forgotten_first():
    limiter = LoginLimiter(max_failures=1, window_s=60, max_tracked=50, clock=Clock())
    for n in range(500):
        fail(limiter, f"10.1.{n // 256}.{n % 256}", f"pk_{n:012x}_x")
    assert len(limiter) == 50
    with pytest.raises(LoginThrottled), limiter.attempt("10.1.1.243", OTHER_KEY):
        pass  # the latest guesser is still braked
    with limiter.attempt("10.1.0.0", OTHER_KEY):
        pass  # the first one was forgotten
