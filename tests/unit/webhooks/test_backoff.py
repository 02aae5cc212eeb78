"""Retry timing of failed deliveries (service/webhooks/backoff.py): exponential, capped, jittered, about a day."""

from __future__ import annotations

import random

from service.webhooks.backoff import Backoff

DEFAULT = Backoff(base_s=5, cap_s=3600, window_s=86400)


def test_waits_double_within_their_jitter_band_until_the_cap() -> None:
    rng = random.Random(7)
    for attempt in range(1, 40):
        ceiling = min(3600, 5 * 2 ** (attempt - 1))
        for _ in range(20):
            delay = DEFAULT.delay(attempt, rng)
            assert ceiling / 2 <= delay <= ceiling


def test_jitter_spreads_the_retries_of_one_attempt() -> None:
    rng = random.Random(1)
    delays = {round(DEFAULT.delay(6, rng), 3) for _ in range(50)}
    assert len(delays) > 40


def test_the_defaults_retry_for_about_a_day_in_a_few_dozen_attempts() -> None:
    elapsed, attempts = 0.0, 0
    rng = random.Random(3)
    while not DEFAULT.gives_up(elapsed):
        attempts += 1
        elapsed += DEFAULT.delay(attempts, rng)
    assert 86400 <= elapsed < 86400 + 3600
    assert 20 <= attempts <= 60


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert DEFAULT.delay(10_000) <= 3600
