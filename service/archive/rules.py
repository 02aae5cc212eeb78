"""The rules of retiring prompts that need no database: what refuses a label, what refuses an archive, what a deletion
must be confirmed with. Their errors map to HTTP in service/http/errors.py by family (Duplicate -> 409, ...)."""

from __future__ import annotations

from collections.abc import Sequence

from service.errors import Duplicate, Unprocessable

# What can be archived, as the error bodies and the events name it.
NAME, REVISION, VERSION = "name", "revision", "version"


class ArchivedTarget(Duplicate):
    """A label may not be pointed (moved, rolled back, split) at an archived version, revision or name."""

    code = "archived_target"


class LabelledTarget(Duplicate):
    """Archiving what a label points at would leave the label serving something hidden: refused, naming the labels."""

    code = "archive_labelled"


class ConfirmationRequired(Unprocessable):
    code = "confirmation_required"


def archived_part(*, name_archived: bool, revision_archived: bool, version_archived: bool) -> str | None:
    """Which part of a label target is archived (the narrowest first), or None when it may be labelled."""
    if version_archived:
        return VERSION
    if revision_archived:
        return REVISION
    if name_archived:
        return NAME
    return None


def refuse_archived(part: str, *, name: str, label: str, version_id: int) -> ArchivedTarget:
    what = {VERSION: f"version {version_id}", REVISION: f"the revision of version {version_id}", NAME: "the prompt"}
    return ArchivedTarget(
        f"Label {label!r} cannot point at version {version_id} of {name!r}: {what[part]} is archived. Unarchive it "
        f"(POST .../unarchive) or choose another version.",
        archived=part,
    )


def refuse_labelled(part: str, what: str, labels: Sequence[str]) -> LabelledTarget:
    listed = ", ".join(repr(label) for label in labels)
    return LabelledTarget(
        f"Cannot archive {what}: label(s) {listed} point at it. Move or delete those labels first.",
        labels=sorted(labels),
        archived=part,
    )


def check_confirmation(name: str, confirm: str | None) -> None:
    """Deleting a prompt is not undoable: the request must repeat the name exactly (`?confirm=<name>`)."""
    if confirm != name:
        raise ConfirmationRequired(
            f"Deleting prompt {name!r} removes every revision, version and label of it and cannot be undone. Repeat "
            f"its name as the `confirm` parameter (?confirm={name}) to go ahead.",
        )
