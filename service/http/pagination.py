"""Keyset pagination lives in service/db/pagination.py (services page their rows); re-exported here for the handlers
and the OpenAPI rules that import it from this path."""

from service.db.pagination import (
    CURSOR_DESCRIPTION,
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    check_limit,
    decode_cursor,
    encode_cursor,
    page_of,
)

__all__ = [
    "CURSOR_DESCRIPTION",
    "CURSOR_PATTERN",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "check_limit",
    "decode_cursor",
    "encode_cursor",
    "page_of",
]
