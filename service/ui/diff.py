"""A revision's body against the previous one, as classified unified-diff lines for the coloured rendering."""

from __future__ import annotations

from dataclasses import dataclass

from service.diffs.service import unified

# Past this many lines the page shows the head of the diff and says so (a 64 KiB body diffed against another could
# otherwise make one page megabytes long).
MAX_LINES = 400


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # "add" | "del" | "ctx" | "hunk"
    text: str


@dataclass(frozen=True, slots=True)
class Diff:
    lines: list[DiffLine]
    truncated: bool

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
