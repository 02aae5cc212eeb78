"""The playground's variable fields: one per variable, typed by the revision's input_schema, read back into the values
a run takes, and a run's refusal placed beside the field it concerns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec

from service.errors import InvalidInput, Unprocessable
from service.ui.editing import errors_of
from service.ui.forms import FormError


@dataclass(frozen=True, slots=True)
class VariableField:
    name: str
    kind: str  # text | textarea | number | integer | boolean | enum | json | history
    value: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    description: str = ""


def field_for(name: str, spec: dict[str, Any], required: bool, placeholder: bool, value: str) -> VariableField:
    description = str(spec.get("description", ""))[:300]
    if placeholder:
        return VariableField(name, "history", value, required, description=description or "a JSON list of messages")
    if isinstance(spec.get("enum"), list) and all(isinstance(v, str) for v in spec["enum"]):
        return VariableField(name, "enum", value, required, tuple(spec["enum"]), description)
    declared = spec.get("type")
    kinds = {"integer": "integer", "number": "number", "boolean": "boolean", "array": "json", "object": "json"}
    kind = kinds.get(declared, "text") if isinstance(declared, str) else "text"
    if kind == "text" and ("\n" in value or (spec.get("maxLength") or 0) > 200):
        kind = "textarea"
    return VariableField(name, kind, value, required, description=description)


def parse_values(fields: list[VariableField], typed: dict[str, str]) -> dict[str, Any]:
    """The variables as the field types read them; an empty optional field is left out (an API run would omit it)."""
    out: dict[str, Any] = {}
    for spec in fields:
        raw = typed.get(f"var_{spec.name}", "")
        where = f"var_{spec.name}"
        if spec.kind in ("text", "textarea", "enum"):
            if raw or spec.required or spec.kind != "enum":
                out[spec.name] = raw.replace("\r\n", "\n")
            continue
        if not raw.strip():
            continue
        if spec.kind in ("json", "history"):
            try:
                out[spec.name] = json.loads(raw)
            except json.JSONDecodeError as error:
                raise FormError(where, f"not valid JSON: {error.msg} at line {error.lineno}") from None
        elif spec.kind == "boolean":
            out[spec.name] = raw == "true"
        else:
            try:
                out[spec.name] = int(raw) if spec.kind == "integer" else float(raw)
            except ValueError:
                raise FormError(
                    where, f"not a{'n integer' if spec.kind == 'integer' else ' number'}: {raw[:40]}"
                ) from None
    return out


def variable_errors(
    error: InvalidInput | Unprocessable | FormError | msgspec.ValidationError, side: str
) -> dict[str, str]:
    """A run's refusal, beside the variable fields it names (or the side's model fields, or the whole form)."""
    if isinstance(error, Unprocessable):
        if error.code == "missing_variables":
            return {f"var_{name}": "needs a value" for name in error.extra.get("missing", [])} | {"form": error.detail}
        if error.code == "invalid_variables":
            found = {}
            for violation in error.extra.get("violations", []):
                head = violation["path"].split(".")[0].split("[")[0]
                found[f"var_{head}" if head != "$" else "form"] = violation["message"]
            return found | {"form": error.detail}
        if str(error.extra.get("path", "")).startswith("variables."):
            head = error.extra["path"].removeprefix("variables.").split("[")[0]
            return {f"var_{head}": error.detail}
    return {f"{side}_{key}" if key != "form" else key: detail for key, detail in errors_of(error).items()}
