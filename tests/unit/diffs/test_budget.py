"""The budgeted matcher: difflib's output for what fits, a bounded amount of work for what does not."""

from __future__ import annotations

import difflib
import random

import pytest

from service.diffs import budget
from service.diffs.budget import DEFAULT_BUDGET, BudgetedMatcher, DiffTooLarge, unified_text


def hostile(lines: int) -> tuple[str, str]:
    """Two bodies of `lines` lines, every second line different: difflib's quadratic case."""
    old = "\n".join(f"{i:04x}" for i in range(lines))
    new = "\n".join(f"{i:04x}" if i % 2 == 0 else f"{i ^ 0xF000:04x}" for i in range(lines))
    return old, new


def test_output_is_difflibs_for_every_pair_that_fits() -> None:
    rng = random.Random(22)
    for _ in range(300):
        a = [rng.choice("abcdefg") for _ in range(rng.randint(0, 40))]
        b = [rng.choice("abcdefg") for _ in range(rng.randint(0, 40))]
        expected = "\n".join(difflib.unified_diff(a, b, "x", "y", lineterm=""))
        assert unified_text("\n".join(a), "\n".join(b), fromfile="x", tofile="y")[0] == expected


def test_a_hostile_pair_stops_once_the_budget_is_spent() -> None:
    old, new = hostile(12_000)
    with pytest.raises(DiffTooLarge) as refused:
        unified_text(old, new, fromfile="a", tofile="b")
    # Bounded work: the matcher stopped within one call's worth (at most both sides' lines) past the budget; difflib
    # itself would have spent ~90 million operations on this pair.
    assert DEFAULT_BUDGET < refused.value.spent <= DEFAULT_BUDGET + 2 * 12_000 + 12_000


def test_a_long_diff_hands_the_interpreter_lock_over_as_it_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matcher sleeps briefly after every YIELD_EVERY operations, so that the event loop serving other requests
    gets the interpreter lock at once instead of after a full switch interval; a small diff never sleeps."""
    sleeps: list[float] = []
    monkeypatch.setattr(budget.time, "sleep", sleeps.append)
    old, new = hostile(12_000)
    with pytest.raises(DiffTooLarge) as refused:
        unified_text(old, new, fromfile="a", tofile="b")
    assert 10 <= len(sleeps) <= refused.value.spent // budget.YIELD_EVERY  # every few ms of matching, never more often
    assert set(sleeps) == {budget.YIELD_S}
    sleeps.clear()
    assert unified_text("a\nb\nc", "a\nB\nc", fromfile="a", tofile="b")[1] < budget.YIELD_EVERY
    assert sleeps == []


def test_the_count_is_an_upper_bound_of_difflibs_work_and_independent_of_load() -> None:
    old, new = hostile(1_000)
    first = BudgetedMatcher(old.splitlines(), new.splitlines(), budget=10**9)
    first.get_opcodes()
    again = BudgetedMatcher(old.splitlines(), new.splitlines(), budget=10**9)
    again.get_opcodes()
    assert first.spent == again.spent > 100_000  # deterministic: fits or not, whatever the machine's load
    assert first.get_opcodes() == difflib.SequenceMatcher(None, old.splitlines(), new.splitlines()).get_opcodes()


def test_a_long_lightly_edited_body_costs_little() -> None:
    old = [f"line {i} of a long prompt" for i in range(15_000)]
    new = list(old)
    new[10], new[7_000] = "changed", "changed too"
    text, spent = unified_text("\n".join(old), "\n".join(new), fromfile="a", tofile="b")
    assert "+changed too" in text.splitlines() and spent < DEFAULT_BUDGET // 10


def test_bodies_past_the_line_limit_are_refused_before_any_matching() -> None:
    with pytest.raises(DiffTooLarge):
        unified_text("x\n" * 30_000, "y\n" * 30_000, fromfile="a", tofile="b")
