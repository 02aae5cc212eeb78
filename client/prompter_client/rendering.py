"""Template text, rendered exactly as the server renders it (service/templates/rendering.py).

The placeholder pattern, the one-pass substitution, the JSON form of non-string values and the missing-variable error
are the server's; tests compare this module's output with the server's on the same inputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from prompter_client.errors import MissingVariables

# A variable name: letters, digits, underscores, dots and dashes, starting with a letter or underscore.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")


def parse_variables(body: str) -> list[str]:
    """Distinct variable names in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


def render(body: str, values: Mapping[str, Any]) -> str:
    """Substitute every placeholder in one pass (a value containing `{{ x }}` is not expanded again).

    Strings are inserted as they are; other JSON values as compact JSON (`true`, `3`, `["a"]`). Every variable must
    have a value: the server refuses a run with missing variables (422 `missing_variables`) and so does this. The
    server checks the variables it parsed from the body when the template was created, which is this parse."""
    missing = [name for name in parse_variables(body) if name not in values]
    if missing:
        raise MissingVariables(missing)

    def substitute(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    return PLACEHOLDER.sub(substitute, body)
