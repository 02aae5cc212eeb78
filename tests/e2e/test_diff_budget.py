"""A hostile diff over real HTTP: two 12 000-line revisions differing on every second line. It is refused with 422
`diff_too_large` (its work is bounded, see tests/unit/diffs/test_budget.py), and another workspace's reads keep being
answered while several such diffs run in parallel. The UI's prompt page shows the pair as too large, on every view
(its cache: tests/unit/ui/test_ui_diff_cache.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from service.diffs.budget import BudgetedMatcher
from service.providers import ProviderRegistry
from tests.e2e.labels_support import create_template, live_api, pin
from tests.unit.diffs.test_budget import hostile

ATTACKER = {"org_id": "evil", "workspace_id": "lab"}
VICTIM = {"org_id": "acme", "workspace_id": "shop"}


@pytest.fixture
def world(sqlite_url: str) -> Iterator[tuple[httpx.Client, str, int, int]]:
    with live_api(sqlite_url, ProviderRegistry.fakes()) as client:
        old, new = hostile(12_000)
        one = create_template(client, "big", old, **ATTACKER)
        two = create_template(client, "big", new, **ATTACKER)
        greet = create_template(client, "greet", "Hello {{ who }}", **VICTIM)
        version = pin(client, greet["id"])
        moved = client.put("/api/prompts/greet/labels/production", json={"version_id": version["id"], **VICTIM})
        assert moved.status_code == 200, moved.text
        yield client, client.base_url.join("/").__str__(), one["id"], two["id"]


def timed_get(base_url: str, path: str, params: dict[str, str]) -> tuple[int, float, str]:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        started = time.perf_counter()
        response = client.get(path, params=params)
        return response.status_code, time.perf_counter() - started, response.text


def test_a_hostile_diff_is_refused_and_other_tenants_keep_being_served(world) -> None:
    """Statuses, not clocks: that the matcher's work is bounded is counted in tests/unit/diffs/test_budget.py, and what
    parallel diffs do to another workspace's read latency is measured by `python -m bench.diff_isolation`."""
    client, base_url, one, two = world
    diff_path = f"/api/prompt-templates/{two}/diff"
    status, _, text = timed_get(base_url, diff_path, {"against": str(one), **ATTACKER})
    assert status == 422 and '"diff_too_large"' in text, text

    with ThreadPoolExecutor(max_workers=5) as pool:
        attacks = [pool.submit(timed_get, base_url, diff_path, {"against": str(one), **ATTACKER}) for _ in range(8)]
        during = []
        while not all(attack.done() for attack in attacks) or len(during) < 5:
            during.append(timed_get(base_url, "/api/prompts/greet", VICTIM))
        results = [attack.result(timeout=240) for attack in attacks]

    assert [status for status, _, _ in results] == [422] * 8
    assert all('"diff_too_large"' in text for _, _, text in results)
    assert {status for status, _, _ in during} == {200}, during


@pytest.fixture
def held_diffs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """(entered, release): the server's matcher (in this process) waits at its start, inside the one-diff-at-a-time
    lock, until `release` is set, then does its real budgeted work. `entered` says a diff is in there."""
    entered, release = threading.Event(), threading.Event()
    real = BudgetedMatcher.get_grouped_opcodes

    def held(matcher: BudgetedMatcher, n: int = 3) -> Any:
        entered.set()
        if not release.wait(timeout=240):
            raise RuntimeError("the test never released the held diff")
        return real(matcher, n)

    monkeypatch.setattr(BudgetedMatcher, "get_grouped_opcodes", held)
    yield entered, release
    release.set()


def test_diffs_waiting_for_the_matcher_hold_no_database_connection(world, held_diffs) -> None:
    """8 diffs in the server (one in the matcher, the rest queued behind it) and the SQLite pool's 4 connections:
    another tenant's reads are answered while none of the diffs can finish. This failed with 503
    database_unavailable (pool exhausted) while a diff kept its connection."""
    client, base_url, one, two = world
    entered, release = held_diffs
    diff_path = f"/api/prompt-templates/{two}/diff"
    with ThreadPoolExecutor(max_workers=8) as pool:
        attacks = [pool.submit(timed_get, base_url, diff_path, {"against": str(one), **ATTACKER}) for _ in range(8)]
        assert entered.wait(timeout=60), "no diff reached the matcher"
        reads = [timed_get(base_url, "/api/prompts/greet", VICTIM) for _ in range(5)]
        assert [status for status, _, _ in reads] == [200] * 5, reads
        assert not any(attack.done() for attack in attacks)  # the reads were answered while the diffs were held
        release.set()
        results = [attack.result(timeout=240) for attack in attacks]
    assert [status for status, _, _ in results] == [422] * 8
    assert all('"diff_too_large"' in text for _, _, text in results)


def test_the_ui_page_shows_a_hostile_pair_as_too_large_on_every_view(world) -> None:
    client, base_url, one, two = world
    status, _, text = timed_get(base_url, "/ui/prompts/big", ATTACKER)
    assert status == 200 and "differ in too many places" in text, text[:500]
    again_status, _, again_text = timed_get(base_url, "/ui/prompts/big", ATTACKER)
    assert again_status == 200 and "differ in too many places" in again_text
