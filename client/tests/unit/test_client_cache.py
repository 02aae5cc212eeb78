"""The cache rules of `Prompter` against the in-memory FakePrompter: TTL, stale-while-revalidate, single flight,
If-None-Match, outage, back-off and fallback."""

from __future__ import annotations

import logging
import threading

import pytest
from client_helpers import FakePrompter, OffsetClock, expire, wait_until
from prompter_client import PrompterUnavailable, PromptNotFound


def test_a_warm_entry_is_served_without_a_request(fake: FakePrompter, make_prompter) -> None:
    fake.set("greet", "Hello {{ name }}!")
    p = make_prompter()
    first = p.get_prompt("greet")
    for _ in range(100):
        assert p.get_prompt("greet", label="production") is first
    assert len(fake.gets) == 1
    assert fake.gets[0].url.params["label"] == "production"
    assert fake.gets[0].url.params["org_id"] == "acme"
    assert first.body == "Hello {{ name }}!" and not first.is_fallback


def test_a_stale_entry_is_served_at_once_and_refreshed_once(fake: FakePrompter, make_prompter) -> None:
    fake.set("greet", "old")
    p = make_prompter()
    assert p.get_prompt("greet").body == "old"
    fake.set("greet", "new")
    assert p.get_prompt("greet").body == "old"  # fresh: the change is not seen before the TTL
    expire(p)
    fake.gate = threading.Event()  # hold the refresh so the stale answer is observable
    assert p.get_prompt("greet").body == "old"
    assert p.get_prompt("greet").body == "old"
    fake.gate.set()
    wait_until(lambda: p.get_prompt("greet").body == "new", what="the refreshed prompt")
    assert len(fake.gets) == 2


def test_an_unchanged_prompt_is_revalidated_with_if_none_match(fake: FakePrompter, make_prompter) -> None:
    fake.set("greet", "same")
    p = make_prompter()
    first = p.get_prompt("greet")
    etag = p.cache.get(next(iter(p.cache))).etag
    expire(p)
    p.get_prompt("greet")
    wait_until(lambda: p.cache.get(next(iter(p.cache))).fresh_until > 0, what="the 304 to renew the entry")
    assert fake.gets[1].headers["if-none-match"] == etag
    assert p.get_prompt("greet") is first  # the cached object stays; the 304 carried no body
    assert len(fake.gets) == 2


def test_fifty_threads_on_one_stale_key_make_one_refresh(fake: FakePrompter, make_prompter) -> None:
    fake.set("greet", "v1")
    p = make_prompter()
    p.get_prompt("greet")
    expire(p)
    fake.gate = threading.Event()
    start = threading.Barrier(50)
    served: list[str] = []

    def call() -> None:
        start.wait(10)
        for _ in range(20):
            served.append(p.get_prompt("greet").body)

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert served == ["v1"] * 1000  # nobody waited for the refresh
    fake.gate.set()
    wait_until(lambda: p.cache.get(next(iter(p.cache))).fresh_until > 0, what="the refresh")
    assert len(fake.gets) == 2  # the first fetch and exactly one refresh


def test_concurrent_first_fetches_of_one_key_share_one_request(fake: FakePrompter, make_prompter) -> None:
    fake.set("greet", "v1")
    p = make_prompter()
    fake.gate = threading.Event()
    bodies: list[str] = []
    threads = [threading.Thread(target=lambda: bodies.append(p.get_prompt("greet").body)) for _ in range(20)]
    for thread in threads:
        thread.start()
    wait_until(lambda: fake.arrived == 1, what="the leader's request")
    fake.gate.set()
    for thread in threads:
        thread.join(10)
    assert bodies == ["v1"] * 20
    assert len(fake.gets) == 1


def test_outage_serves_stale_and_warns_once(fake: FakePrompter, make_prompter, caplog) -> None:
    fake.set("greet", "cached")
    fake.set("other", "cached too")
    p = make_prompter(retry_min_s=0.01, retry_max_s=0.01)
    p.get_prompt("greet")
    p.get_prompt("other")
    fake.down = True
    caplog.set_level(logging.INFO, logger="prompter_client")
    expire(p)

    def served_through_failed_refreshes() -> bool:
        assert p.get_prompt("greet").body == "cached"
        assert p.get_prompt("other").body == "cached too"
        return len(fake.requests) >= 2 + 6

    wait_until(served_through_failed_refreshes, what="several failed refreshes of both keys")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "prompter_client"]
    assert len(warnings) == 1 and "unavailable" in warnings[0]
    fake.down = False
    fake.set("greet", "fresh")
    wait_until(lambda: p.get_prompt("greet").body == "fresh", what="recovery after the outage")
    assert any("answers again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_a_failed_refresh_backs_off(fake: FakePrompter, make_prompter) -> None:
    fake.set("greet", "cached")
    p = make_prompter(retry_min_s=30, retry_max_s=60)
    p.get_prompt("greet")
    fake.down = True
    expire(p)
    p.get_prompt("greet")
    key = next(iter(p.cache))
    wait_until(lambda: p._core.retry_state(key) is not None, what="the failed refresh")
    failures, retry_at = p._core.retry_state(key)
    assert failures == 1 and retry_at - p._core.clock() > 14  # 30 s with jitter: at least half
    for _ in range(100):
        assert p.get_prompt("greet").body == "cached"
    assert len(fake.requests) == 2  # no further attempt inside the back-off


def test_a_rate_limited_refresh_waits_at_least_retry_after(fake: FakePrompter, make_prompter) -> None:
    fake.set("greet", "cached")
    p = make_prompter(retry_min_s=0.01, retry_max_s=0.01)
    p.get_prompt("greet")
    fake.status, fake.error_headers = 429, {"retry-after": "120"}
    expire(p)
    p.get_prompt("greet")
    key = next(iter(p.cache))
    wait_until(lambda: p._core.retry_state(key) is not None, what="the 429")
    assert p._core.retry_state(key)[1] - p._core.clock() > 100


def test_cold_miss_during_an_outage_raises_or_serves_the_fallback(fake: FakePrompter, make_prompter) -> None:
    fake.down = True
    p = make_prompter(retry_min_s=0.05, retry_max_s=0.05)
    with pytest.raises(PrompterUnavailable) as raised:
        p.get_prompt("greet")
    assert raised.value.status is None and "Connection refused" in raised.value.detail
    prompt = p.get_prompt("greet", fallback="Hi {{ name }}")
    assert prompt.is_fallback and prompt.render(name="Ada") == "Hi Ada"
    assert p.get_prompt("greet") is prompt  # kept (stale) until Prompter answers
    fake.down = False
    fake.set("greet", "Hello {{ name }}")
    wait_until(lambda: not p.get_prompt("greet").is_fallback, what="the real prompt to replace the fallback")
    assert p.get_prompt("greet").body == "Hello {{ name }}"


def test_a_5xx_is_an_outage_too(fake: FakePrompter, make_prompter) -> None:
    fake.status = 503
    p = make_prompter()
    with pytest.raises(PrompterUnavailable) as raised:
        p.get_prompt("greet")
    assert raised.value.status == 503 and raised.value.code == "status_503"
    assert p.get_prompt("greet", fallback="x").is_fallback


def test_an_unknown_label_raises_not_found_even_with_a_fallback(fake: FakePrompter, make_prompter) -> None:
    p = make_prompter()
    with pytest.raises(PromptNotFound) as raised:
        p.get_prompt("greet", label="staging", fallback="never used")
    assert raised.value.code == "label_not_found" and raised.value.status == 404
    assert len(p.cache) == 0


def test_a_refresh_error_answer_keeps_the_entry_and_warns_once_per_key(
    fake: FakePrompter, make_prompter, caplog
) -> None:
    fake.set("greet", "kept")
    p = make_prompter(retry_min_s=0.01, retry_max_s=0.01)
    p.get_prompt("greet")
    fake.status = 400  # an error answer that is not a 404 (a 404 evicts: see the next test)
    caplog.set_level(logging.WARNING, logger="prompter_client")
    for attempt in range(2):
        expire(p)
        wait_until(lambda: p._core.claim_refresh(("greet", "production", None)), what="a refresh slot")
        p._core.release(("greet", "production", None))
        assert p.get_prompt("greet").body == "kept"
        wait_until(lambda n=2 + attempt: len(fake.gets) == n, what="the failed refresh")
        wait_until(lambda: p._core.retry_state(("greet", "production", None)) is not None, what="back-off")
    assert p.get_prompt("greet").body == "kept"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "prompter_client"]
    assert len(warnings) == 1 and "status_400" in warnings[0]


def test_a_404_on_revalidation_evicts_the_entry(fake: FakePrompter, make_prompter, caplog) -> None:
    fake.set("greet", "v1")
    p = make_prompter()
    assert p.get_prompt("greet").body == "v1"
    del fake.prompts[("greet", "production")]  # the label was deleted on the server
    caplog.set_level(logging.WARNING, logger="prompter_client")
    expire(p)
    assert p.get_prompt("greet").body == "v1"  # stale: served once more while the refresh asks
    wait_until(lambda: len(p.cache) == 0, what="the 404 to evict the entry")
    with pytest.raises(PromptNotFound) as raised:
        p.get_prompt("greet")
    assert raised.value.code == "label_not_found"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "prompter_client"]
    assert len(warnings) == 1 and "is gone" in warnings[0] and "label_not_found" in warnings[0]


def test_a_fallback_does_not_outlive_the_outage(fake: FakePrompter, make_prompter) -> None:
    fake.down = True
    p = make_prompter(retry_min_s=0.01, retry_max_s=0.01)
    assert p.get_prompt("greet", fallback="Hi").is_fallback
    fake.down = False  # back, and the server has no such prompt: 404

    def gone() -> bool:  # callers keep calling; a refresh after the back-off gets the 404
        try:
            assert p.get_prompt("greet", fallback="Hi").is_fallback  # served while the refresh has not answered
        except PromptNotFound:  # a fallback is for outages only
            return True
        return False

    wait_until(gone, what="the 404 to evict the fallback")
    assert len(p.cache) == 0


def test_cache_ttl_zero_disables_the_cache(fake: FakePrompter, make_prompter) -> None:
    fake.set("greet", "v1")
    p = make_prompter(cache_ttl_s=0)
    for _ in range(3):
        assert p.get_prompt("greet").body == "v1"
    assert len(fake.gets) == 3 and len(p.cache) == 0


def test_version_id_is_its_own_key(fake: FakePrompter, make_prompter) -> None:
    p = make_prompter()
    with pytest.raises(ValueError, match="not both"):
        p.get_prompt("greet", label="production", version_id=3)
    with pytest.raises(PromptNotFound):
        p.get_prompt("greet", version_id=3)
    assert fake.gets[0].url.params["version_id"] == "3" and "label" not in fake.gets[0].url.params


def test_the_injected_clock_decides_freshness_for_reads_and_writes(fake: FakePrompter, make_prompter) -> None:
    clock = OffsetClock()
    fake.set("greet", "v1")
    p = make_prompter(cache_ttl_s=60, clock=clock)
    p.get_prompt("greet")
    fake.set("greet", "v2")
    clock.advance(59)
    assert p.get_prompt("greet").body == "v1" and len(fake.gets) == 1  # still fresh on the injected clock
    clock.advance(2)
    assert p.get_prompt("greet").body == "v1"  # stale on the injected clock: served, and refreshed once
    wait_until(lambda: p.get_prompt("greet").body == "v2", what="the refresh the injected clock started")
    assert len(fake.gets) == 2
