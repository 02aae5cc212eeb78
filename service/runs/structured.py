"""Structured output, checked: a run of a version with a response_format parses the output as JSON and validates it
against the schema. A model build that starts breaking the schema is behavioural drift a fingerprint alone would not
show, so every failure is counted (prompter_response_schema_violations_total{provider}).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from service.templates.typed import validator_for


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    output: Any  # the parsed JSON, None when the text is not JSON
    valid: bool
    errors: list[str]


def check_output(text: str, schema: dict[str, Any]) -> SchemaCheck:
    """The output text parsed and validated. Text that is not JSON is invalid (with `output` None)."""
    try:
        parsed = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return SchemaCheck(None, False, ["the output is not JSON"])
    try:
        errors = [error.message[:200] for error in validator_for(schema).iter_errors(parsed)][:10]
    except Exception as exc:  # noqa: BLE001 - a schema that cannot be applied fails the check, never the run
        errors = [f"the schema cannot be applied: {type(exc).__name__}"]
    return SchemaCheck(parsed, not errors, errors)
