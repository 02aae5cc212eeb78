"""The prompt page's diffs: each pair within a budget, each view within a budget, every answer cached by id pair."""

from __future__ import annotations

from service.ui import diff
from tests.unit.diffs.test_budget import hostile


def test_a_pair_is_computed_once_and_then_served_from_the_cache() -> None:
    cache = diff.DiffCache()
    first = diff.PageDiffs(cache).between(1, 2, "a\nb", "a\nc", old_name="r1", new_name="r2")
    assert first.changed
    # A later view with no budget left still gets the cached pair (the bodies passed are ignored: revisions never change).
    later = diff.PageDiffs(cache, budget=0).between(1, 2, "", "", old_name="r1", new_name="r2")
    assert later is first


def test_a_hostile_pair_is_too_large_and_that_answer_is_cached() -> None:
    cache = diff.DiffCache()
    old, new = hostile(12_000)
    view = diff.PageDiffs(cache)
    assert view.between(1, 2, old, new, old_name="r1", new_name="r2").too_large
    assert view.left <= diff.PAGE_BUDGET - diff.PAIR_BUDGET
    assert cache.get((1, 2)) is diff.TOO_LARGE


def test_pairs_past_the_page_budget_are_deferred_not_cached() -> None:
    cache = diff.DiffCache()
    old, new = hostile(12_000)
    view = diff.PageDiffs(cache)
    answers = [view.between(i, i + 1, old, new, old_name="a", new_name="b") for i in range(1, 50, 2)]
    computed = sum(answer.too_large for answer in answers)
    assert 1 <= computed <= diff.PAGE_BUDGET // diff.PAIR_BUDGET
    assert all(answer.too_large for answer in answers[:computed])
    assert all(answer.deferred for answer in answers[computed:])
    assert view.left > -diff.PAIR_BUDGET  # the view's work stayed within its budget plus one pair's overshoot
    assert cache.get((49, 50)) is None


def test_the_cache_is_bounded() -> None:
    cache = diff.DiffCache(size=2)
    for key in ((1, 2), (2, 3), (3, 4)):
        cache.put(key, diff.TOO_LARGE)
    assert cache.get((1, 2)) is None and cache.get((3, 4)) is diff.TOO_LARGE
