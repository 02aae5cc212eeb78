from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from service.diffs.messages import MessageChange
from service.diffs.service import BodyDiff, VersionDiff


class MessageChangeOut(Struct):
    """One message added, removed or changed between two chat revisions; `unified` is the text change inside it."""

    change: str  # added | removed | changed
    from_index: int | None
    to_index: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    unified: str

    @classmethod
    def of(cls, change: MessageChange) -> MessageChangeOut:
        return cls(change.change, change.from_index, change.to_index, change.before, change.after, change.unified)


class TemplateDiffOut(Struct):
    """From template `against` to template `{id}`: `unified` is difflib's unified diff of the bodies (of the messages
    as `[role]` blocks for chat templates); `messages` lists each message added, removed or changed."""

    from_: int = msgspec.field(name="from")
    to: int = 0
    unified: str = ""
    variables_added: list[str] = []
    variables_removed: list[str] = []
    messages: list[MessageChangeOut] = []
    type_changed: bool = False
    input_schema_changed: bool = False

    @classmethod
    def of(cls, diff: BodyDiff) -> TemplateDiffOut:
        return cls(
            diff.before.id,
            diff.after.id,
            diff.unified,
            diff.variables_added,
            diff.variables_removed,
            [MessageChangeOut.of(change) for change in diff.messages],
            diff.type_changed,
            diff.input_schema_changed,
        )


class FieldChangeOut(Struct):
    field: str
    from_: Any = msgspec.field(name="from")
    to: Any = None


class VersionDiffOut(Struct):
    """From version `against` to version `{id}`: the bodies of their revisions, and every changed provider, model,
    params and identity field (`params.temperature`, `captured.system_fingerprint`, ...)."""

    from_: int = msgspec.field(name="from")
    to: int = 0
    from_template_id: int = 0
    to_template_id: int = 0
    unified: str = ""
    variables_added: list[str] = []
    variables_removed: list[str] = []
    changes: list[FieldChangeOut] = []
    messages: list[MessageChangeOut] = []

    @classmethod
    def of(cls, diff: VersionDiff) -> VersionDiffOut:
        return cls(
            diff.before.id,
            diff.after.id,
            diff.body.before.id,
            diff.body.after.id,
            diff.body.unified,
            diff.body.variables_added,
            diff.body.variables_removed,
            [FieldChangeOut(change.field, change.before, change.after) for change in diff.changes],
            [MessageChangeOut.of(change) for change in diff.body.messages],
        )
