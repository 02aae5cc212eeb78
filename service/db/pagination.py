"""Keyset pagination, newest first. The cursor is the id of the last item of the previous page, as decimal digits.

Its format is exact and documented (CURSOR_PATTERN in the OpenAPI): every string of that shape is a valid cursor, so a
generated client or a fuzzer that follows the schema never meets a 400. It was base64url("id:<n>") before, where most
strings the schema allowed decoded to nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, cast

from service.errors import InvalidInput

# 1 to 18 digits without a leading zero: every match is an id between 1 and 10**18 - 1, inside the 64-bit range.
# Empty is the first page, like no cursor at all.
CURSOR_PATTERN = r"^([1-9][0-9]{0,17})?$"
CURSOR_DESCRIPTION = (
    "Continue after this item: pass the previous page's `next_cursor` unchanged, or omit it for the first page. "
    "The cursor is the id of the last item seen (1 to 18 ASCII digits, no leading zero; empty = first page); treat "
    "it as opaque."
)
_CURSOR = re.compile(CURSOR_PATTERN)


class HasId(Protocol):
    id: int


# Not bound to HasId: mypy does not see an ORM model's `id: Mapped[int]` as a plain `int` attribute.
T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_PREFIX = "id:"


def encode_cursor(last_id: int) -> str:
    return str(last_id)


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not _CURSOR.fullmatch(cursor):
        raise InvalidInput(
            "Malformed cursor. Pass the `next_cursor` value of a previous page unchanged, or omit it.",
            code="invalid_cursor",
        )
    return int(cursor)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT} (got {limit}).", code="invalid_limit")
    return limit


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def page_of(rows: list[T], limit: int) -> Page[T]:
    """`rows` was fetched with limit + 1: the extra row only tells whether another page exists."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(cast(HasId, rows[-1]).id) if has_more and rows else None)
