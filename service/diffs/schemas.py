from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from service.diffs.service import BodyDiff, VersionDiff


class TemplateDiffOut(Struct):
    """From template `against` to template `{id}`: `unified` is difflib's unified diff of the bodies."""

    from_: int = msgspec.field(name="from")
    to: int = 0
    unified: str = ""
    variables_added: list[str] = []
    variables_removed: list[str] = []

    @classmethod
    def of(cls, diff: BodyDiff) -> TemplateDiffOut:
        return cls(diff.before.id, diff.after.id, diff.unified, diff.variables_added, diff.variables_removed)


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
        )
