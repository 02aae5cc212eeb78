"""Diffs of chat templates, message by message: which messages were added, removed or changed (and the text change
inside a changed one), and the text form of a chat that the unified diff of two revisions is computed over."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from service.db.hashing import canonical_json
from service.diffs.budget import unified_text


@dataclass(frozen=True, slots=True)
class MessageChange:
    change: str  # added | removed | changed
    from_index: int | None  # position in the older revision's messages
    to_index: int | None  # position in the newer one
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    unified: str  # the text change inside a changed message ("" for added and removed ones)


def chat_text(messages: list[dict[str, Any]] | None) -> str:
    """A chat as text for the unified diff: one `[role]` (or `[placeholder name]`) header per message."""
    blocks = []
    for message in messages or []:
        if message.get("type") == "placeholder":
            blocks.append(f"[placeholder {message['name']}]")
        else:
            blocks.append(f"[{message['role']}]\n{message['content']}")
    return "\n\n".join(blocks)


def _content_diff(before: dict[str, Any], after: dict[str, Any], from_index: int, to_index: int) -> str:
    # The same budgeted matcher as the body diff: one hostile message cannot cost more than a hostile body.
    old, new = chat_text([before]), chat_text([after])
    return unified_text(old, new, fromfile=f"messages[{from_index}]", tofile=f"messages[{to_index}]")[0]


def message_changes(before: list[dict[str, Any]] | None, after: list[dict[str, Any]] | None) -> list[MessageChange]:
    """Messages matched as a sequence (difflib over their canonical JSON): an unmatched run on both sides is paired
    up in order as changed messages, what is left over is added or removed."""
    old, new = before or [], after or []
    matcher = difflib.SequenceMatcher(a=[canonical_json(m) for m in old], b=[canonical_json(m) for m in new])
    changes: list[MessageChange] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(pairs):
            a, b = old[i1 + k], new[j1 + k]
            changes.append(MessageChange("changed", i1 + k, j1 + k, a, b, _content_diff(a, b, i1 + k, j1 + k)))
        changes.extend(MessageChange("removed", i, None, old[i], None, "") for i in range(i1 + pairs, i2))
        changes.extend(MessageChange("added", None, j, None, new[j], "") for j in range(j1 + pairs, j2))
    return changes
