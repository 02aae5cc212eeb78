"""Limits on what a JSON request body may look like, enforced once for every handler.

Size is Litestar's `request_max_body_size` (413). Nesting is bounded here: a body like `[[[[...]]]]` a thousand levels
deep decodes into Python recursion (msgspec's decoder raises RecursionError, or a decoded value later breaks
json.dumps, the JSON column serializer or the response encoder), which surfaced as a 500. No prompt variable needs more
than a few levels, so anything deeper than MAX_JSON_DEPTH is refused as a 400 before a handler sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Request

from service.errors import InvalidInput

MAX_JSON_DEPTH = 64


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Iterative (no recursion of its own): True when lists/objects nest more than `limit` levels."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep() -> InvalidInput:
    return InvalidInput(
        f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels; flatten the value (e.g. send it as a string).",
        code="json_too_deep",
    )


class BoundedJSONRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise _too_deep() from None
        if nested_deeper_than(value, MAX_JSON_DEPTH):
            raise _too_deep()
        return value
