"""Label names: the allowed shape and the reserved automatic label."""

from __future__ import annotations

import re

from service.http.errors import InvalidInput, Unprocessable

LABEL_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
# `latest` is computed (the newest version of the newest revision), never stored: it cannot be set, moved or deleted.
LATEST = "latest"
DEFAULT_LABEL = "production"


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
