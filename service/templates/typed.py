"""JSON Schema, as users give it: checked against the Draft 2020-12 metaschema when stored (input_schema, tool
parameters, response schemas), and used to validate a run's variables (typed variables).

Validators are built once per distinct schema and kept (a bounded LRU keyed by the schema's canonical JSON): building
one costs far more than validating a handful of variables, and a prompt's schema is the same on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from service.db.hashing import canonical_json
from service.errors import Unprocessable
from service.templates.chat import canonical_size

MAX_VIOLATIONS = 50


def check_user_schema(schema: Any, path: str, *, max_bytes: int) -> dict[str, Any]:
    """`schema` as a valid Draft 2020-12 JSON Schema object under the size limit, or a 422 naming the path (the
    OpenAPI document can only say "an object"). Only local references (`#/$defs/...`) are allowed: a validator never
    fetches anything."""
    if not isinstance(schema, dict):
        raise Unprocessable(f"`{path}` must be a JSON Schema object.", code="invalid_schema", path=path)
    size = canonical_size(schema)
    if size > max_bytes:
        raise Unprocessable(
            f"`{path}` is {size} bytes as canonical JSON; the limit is {max_bytes} (PROMPTER_MAX_SCHEMA_BYTES).",
            code="schema_too_large",
            path=path,
        )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        raise Unprocessable(
            f"`{where}` is not valid JSON Schema (Draft 2020-12): {exc.message[:300]}",
            code="invalid_schema",
            path=where,
        ) from None
    remote = _remote_ref(schema, path)
    if remote is not None:
        raise Unprocessable(
            f"`{remote}`: only local references (#/...) are supported; put the referenced schema under $defs.",
            code="invalid_schema",
            path=remote,
        )
    return schema


def _remote_ref(schema: Any, path: str) -> str | None:
    """The path of the first `$ref` / `$dynamicRef` that is not a local `#...` pointer (iterative walk)."""
    stack: list[tuple[str, Any]] = [(path, schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$dynamicRef") and not (isinstance(value, str) and value.startswith("#")):
                    return f"{where}.{key}"
                stack.append((f"{where}.{key}", value))
        elif isinstance(node, list):
            stack.extend((f"{where}[{index}]", item) for index, item in enumerate(node))
    return None


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Draft202012Validator:
    import json

    return Draft202012Validator(json.loads(schema_json))


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    return _validator(canonical_json(schema))


def violations(schema: dict[str, Any], instance: Any) -> list[dict[str, str]]:
    """Every violation of `instance` against `schema` as {path, message}, in a stable order."""
    found = []
    try:
        for error in validator_for(schema).iter_errors(instance):
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            found.append({"path": path.lstrip(".") or "$", "message": error.message[:300]})
    except Exception as exc:  # noqa: BLE001 - e.g. a local $ref to nothing: the schema, not the request, is broken
        found.append({"path": "$", "message": f"the schema cannot be applied: {type(exc).__name__}"})
    found.sort(key=lambda v: (v["path"], v["message"]))
    return found[:MAX_VIOLATIONS]


def check_variables(input_schema: dict[str, Any], values: Mapping[str, Any], placeholders: list[str]) -> None:
    """422 invalid_variables listing every violation of the template's input_schema. Placeholder values (history) are
    messages, checked on their own, and left out of the instance."""
    instance = {name: value for name, value in values.items() if name not in placeholders}
    found = violations(input_schema, instance)
    if found:
        listed = "; ".join(f"{v['path']}: {v['message']}" for v in found[:5])
        raise Unprocessable(
            f"The variables do not match the template's input_schema ({len(found)} violation(s)): {listed}.",
            code="invalid_variables",
            violations=found,
        )
