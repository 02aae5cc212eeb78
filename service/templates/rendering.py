"""Template text: `{{ variable }}` placeholders, their parsing, rendering and the content hash."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

# A variable name: letters, digits, underscores, dots and dashes, starting with a letter or underscore.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")


def parse_variables(body: str) -> list[str]:
    """Distinct variable names in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


def content_hash(body: str) -> str:
    return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def missing_variables(body_variables: list[str], values: Mapping[str, Any]) -> list[str]:
    return [name for name in body_variables if name not in values]


def render(body: str, values: Mapping[str, Any]) -> str:
    """Substitute every placeholder in one pass (a value containing `{{ x }}` is not expanded again).

    Strings are inserted as they are; other JSON values as compact JSON (`true`, `3`, `["a"]`)."""

    def substitute(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    return PLACEHOLDER.sub(substitute, body)
