"""Keyset pagination, newest first. The cursor is opaque to clients: base64url of the last id they saw."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from service.http.errors import InvalidInput


class HasId(Protocol):
    id: int


T = TypeVar("T", bound=HasId)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_PREFIX = "id:"


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if not text.startswith(_PREFIX):
            raise ValueError(text)
        value = int(text[len(_PREFIX) :])
        if value < 1 or value > 2**62:
            raise ValueError(text)
        return value
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput(
            "Malformed cursor. Pass the `next_cursor` value of a previous page unchanged, or omit it.",
            code="invalid_cursor",
        ) from None


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
    return Page(rows, encode_cursor(rows[-1].id) if has_more and rows else None)
