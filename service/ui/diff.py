"""A revision's body against the previous one, as classified unified-diff lines for the coloured rendering."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from service.diffs.budget import DiffTooLarge, unified_text
from service.diffs.service import unified

# Past this many lines the page shows the head of the diff and says so (a 64 KiB body diffed against another could
# otherwise make one page megabytes long).
MAX_LINES = 400
# Matcher operations (service/diffs/budget.py) one revision pair may cost on a page, and all the pairs one page view may
# compute afresh. A page diffs up to 49 pairs; pairs past the page budget say so and are computed on a later view (the
# cached ones cost nothing then). Pairs over the pair budget are shown as too large, and that answer is cached too.
PAIR_BUDGET = 200_000
PAGE_BUDGET = 1_000_000


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # "add" | "del" | "ctx" | "hunk"
    text: str


@dataclass(frozen=True, slots=True)
class Diff:
    lines: list[DiffLine]
    truncated: bool
    too_large: bool = False  # the pair costs more than PAIR_BUDGET: no lines
    deferred: bool = False  # this view's PAGE_BUDGET was spent before this pair: no lines, try again later

    @property
    def changed(self) -> bool:
        return any(line.kind in {"add", "del"} for line in self.lines)


def classify(unified_text: str) -> Diff:
    """Lines of a unified diff, each tagged for colouring; the ---/+++ file header is dropped."""
    lines: list[DiffLine] = []
    for raw in unified_text.splitlines():
        if raw.startswith(("--- ", "+++ ")) and not lines:
            continue
        if raw.startswith("@@"):
            kind = "hunk"
        elif raw.startswith("+"):
            kind = "add"
        elif raw.startswith("-"):
            kind = "del"
        elif raw.startswith("\\"):
            continue  # "\ No newline at end of file"
        else:
            kind = "ctx"
        lines.append(DiffLine(kind, raw))
        if len(lines) >= MAX_LINES:
            return Diff(lines, truncated=True)
    return Diff(lines, truncated=False)


def body_diff(old: str, new: str, *, old_name: str, new_name: str) -> Diff:
    return classify(unified(old, new, old_name=old_name, new_name=new_name))


TOO_LARGE = Diff([], truncated=False, too_large=True)
DEFERRED = Diff([], truncated=False, deferred=True)


class DiffCache:
    """Page diffs by (from_id, to_id), least recently used out first. Revisions never change, so neither does the diff
    of a pair. Shared by the worker threads that render pages, hence the lock."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, int], Diff] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> Diff | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[int, int], value: Diff) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class PageDiffs:
    """The diffs one page view shows: cached pairs for free, new pairs while the page budget lasts."""

    def __init__(self, cache: DiffCache, budget: int = PAGE_BUDGET, pair_budget: int = PAIR_BUDGET) -> None:
        self.cache = cache
        self.left = budget
        self.pair_budget = pair_budget

    def between(self, old_id: int, new_id: int, old: str, new: str, *, old_name: str, new_name: str) -> Diff:
        key = (old_id, new_id)
        found = self.cache.get(key)
        if found is not None:
            return found
        if self.left <= 0:
            return DEFERRED
        budget = min(self.pair_budget, self.left)
        try:
            text, spent = unified_text(old, new, fromfile=old_name, tofile=new_name, budget=budget)
        except DiffTooLarge as refused:
            self.left -= refused.spent
            if budget < self.pair_budget:
                return DEFERRED  # cut short by what this view had left, not by the pair's own size
            result = TOO_LARGE
        else:
            self.left -= spent
            result = classify(text)
        self.cache.put(key, result)
        return result
