"""A unified diff whose work is bounded.

difflib's matcher is quadratic on long bodies whose lines alternate between shared and changed: two 12 000-line bodies
that differ on every second line take seconds of pure-Python CPU, and that CPU holds the interpreter lock every other
request needs. So the matcher counts the work it does (every line it scans and every candidate match it looks at) and
gives up, raising `DiffTooLarge`, once a fixed operation budget is spent. The count depends only on the two bodies,
never on the machine's load, so a diff either always fits or never does.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Iterator, Sequence
from itertools import accumulate

# Operations (scanned lines + candidate matches) one diff may cost: ~0.1 s of CPU on a slow core. A 64 KiB body
# against a lightly edited copy of itself costs a few thousand; the hostile case above would need tens of millions.
DEFAULT_BUDGET = 1_000_000
# Lines per side: beyond this nothing is compared at all (the matcher's set-up alone is linear in the lines).
MAX_LINES = 20_000
# One diff computes at a time in this process (others wait, asleep, in their worker threads): a matcher holds the
# interpreter lock while it runs, and two of them would leave the event loop a third of it instead of a half.
_COMPUTING = threading.Lock()
# Left alone, a matcher gives the interpreter lock up only when the event loop has asked for it for a full switch
# interval (5 ms), and a request needs the lock many times over: another workspace's read took a median 53 ms instead
# of 2 ms while 8 hostile diffs were queued. A short sleep once at least YIELD_EVERY operations were charged since the
# last one (checked per find_longest_match call, so a few ms of matching apart) hands the lock over: 13-14 ms
# (`python -m bench.diff_isolation`). The hostile pair of the tests sleeps 34 times before its budget runs out.
YIELD_EVERY = 10_000
YIELD_S = 0.0001


class DiffTooLarge(Exception):
    def __init__(self, spent: int, budget: int) -> None:
        super().__init__(f"diff would cost more than {budget} operations (stopped at {spent})")
        self.spent = spent
        self.budget = budget


class BudgetedMatcher(difflib.SequenceMatcher):
    """SequenceMatcher that charges each `find_longest_match` call the most work it can do and stops past the budget."""

    def __init__(self, a: Sequence[str], b: Sequence[str], budget: int) -> None:
        self.budget = budget
        self.spent = 0
        self._next_yield = YIELD_EVERY
        super().__init__(None, a, b)  # autojunk on, as difflib.unified_diff uses it

    def set_seq2(self, b: Sequence[str]) -> None:
        super().set_seq2(b)
        self._costs: list[int] | None = None

    def _charge(self, alo: int, ahi: int, blo: int, bhi: int) -> None:
        if self._costs is None:
            # costs[i] = work of scanning a[:i]: one per line plus one per position of that line in b.
            b2j = self.b2j  # type: ignore[attr-defined]
            self._costs = [0, *accumulate(1 + len(b2j.get(line, ())) for line in self.a)]  # type: ignore[attr-defined]
        self.spent += self._costs[ahi] - self._costs[alo] + (bhi - blo)
        if self.spent >= self._next_yield:
            self._next_yield = self.spent + YIELD_EVERY
            time.sleep(YIELD_S)
        if self.spent > self.budget:
            raise DiffTooLarge(self.spent, self.budget)

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        ahi = len(self.a) if ahi is None else ahi
        bhi = len(self.b) if bhi is None else bhi
        self._charge(alo, ahi, blo, bhi)
        return super().find_longest_match(alo, ahi, blo, bhi)


def unified_text(old: str, new: str, *, fromfile: str, tofile: str, budget: int = DEFAULT_BUDGET) -> tuple[str, int]:
    """The unified diff of two bodies (lines without their endings) and the operations it cost."""
    # Lines without their endings: a body whose last line lacks a newline would otherwise glue the next line to it.
    a, b = old.splitlines(), new.splitlines()
    if max(len(a), len(b)) > MAX_LINES:
        raise DiffTooLarge(max(len(a), len(b)), budget)
    matcher = BudgetedMatcher(a, b, budget)
    with _COMPUTING:
        groups = list(matcher.get_grouped_opcodes(3))  # all the matching work happens here, before any output
    return "\n".join(_unified_lines(a, b, groups, fromfile=fromfile, tofile=tofile)), matcher.spent


def _unified_lines(
    a: Sequence[str],
    b: Sequence[str],
    groups: list[list[tuple[str, int, int, int, int]]],
    *,
    fromfile: str,
    tofile: str,
) -> Iterator[str]:
    """difflib.unified_diff(a, b, fromfile, tofile, lineterm="")'s output for the matcher's grouped opcodes."""
    for index, group in enumerate(groups):
        if index == 0:
            yield f"--- {fromfile}"
            yield f"+++ {tofile}"
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            if tag in {"replace", "delete"}:
                yield from ("-" + line for line in a[i1:i2])
            if tag in {"replace", "insert"}:
                yield from ("+" + line for line in b[j1:j2])


def _range(start: int, stop: int) -> str:
    # difflib._format_range_unified: "start,length" with 1-based start; an empty range names the line before it.
    beginning = start + 1
    length = stop - start
    if length == 1:
        return f"{beginning}"
    if not length:
        beginning -= 1
    return f"{beginning},{length}"
