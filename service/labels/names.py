"""Label names: the checks of the allowed shape (service/vocabulary.py) and of the reserved automatic label."""

from __future__ import annotations

from service.errors import InvalidInput, Unprocessable
from service.vocabulary import DEFAULT_LABEL, LABEL_PATTERN, LATEST

__all__ = ["DEFAULT_LABEL", "LABEL_PATTERN", "LATEST", "check_label", "check_settable"]


def check_label(label: str) -> str:
    if not LABEL_PATTERN.fullmatch(label):
        raise InvalidInput(
            f"Label {label[:80]!r} is not a valid name: use 1 to 64 characters of a-z, 0-9, `_`, `.`, `-`, starting "
            "with a letter or digit.",
            code="invalid_label",
        )
    return label


def check_settable(label: str) -> str:
    check_label(label)
    if label == LATEST:
        # 422: `latest` is a valid label name (the pattern allows it); only setting, deleting or rolling it back is
        # refused, which a schema cannot say.
        raise Unprocessable(
            "`latest` is automatic (the newest version of the newest revision); it cannot be set, deleted or rolled "
            "back. Use another label name.",
            code="reserved_label",
        )
    return label
