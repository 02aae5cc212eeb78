"""A refused setting becomes one line: the variable, the value given and what is allowed."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import annotated_types
from pydantic import ValidationError
from pydantic.fields import FieldInfo


class SettingsError(ValueError):
    """Raised by Settings.from_env(); its message is the one line the process prints before exiting non-zero."""


def describe_allowed(info: FieldInfo) -> str:
    """What a field accepts, in words an operator can act on (also the README table's "Allowed" column)."""
    extra = info.json_schema_extra or {}
    if extra.get("allowed"):  # type: ignore[union-attr]
        return str(extra["allowed"])  # type: ignore[index]
    annotation = info.annotation
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional, annotation = True, args[0]
    if typing.get_origin(annotation) is typing.Literal:
        return " / ".join(f"`{choice}`" for choice in typing.get_args(annotation)) + " (exactly, case-sensitive)"
    if annotation is bool:
        return "`true` / `false` (also 1/0, yes/no, on/off)" + ("; unset = see meaning" if optional else "")
    if annotation in (int, float):
        return _number(info, "an integer" if annotation is int else "a number")
    return "text; empty = unset" if optional else "non-empty text"


def _number(info: FieldInfo, kind: str) -> str:
    low: Any = None
    high: Any = None
    low_open = False
    for bound in info.metadata:
        if isinstance(bound, annotated_types.Ge):
            low = bound.ge
        elif isinstance(bound, annotated_types.Gt):
            low, low_open = bound.gt, True
        elif isinstance(bound, annotated_types.Le):
            high = bound.le
    if low is None:
        return kind
    lower = f"above {low}" if low_open else f"from {low}"
    return f"{kind} {lower} to {high}" if high is not None else f"{kind} {lower}"


def one_line(exc: ValidationError, field_of: Callable[[tuple[Any, ...]], tuple[str | None, FieldInfo | None]]) -> str:
    """Every problem in `exc`, each naming its variable, joined into a single line."""
    problems = []
    for error in exc.errors(include_url=False):
        env, info = field_of(tuple(error["loc"]))
        if env is None or info is None:
            if error["type"] == "extra_forbidden":
                problems.append(f"unknown setting {error['loc'][-1]!r}")
            else:  # a rule across fields (e.g. both basic-auth variables or neither): its message names them
                problems.append(str(error["msg"]).removeprefix("Value error, "))
            continue
        shown = "***" if (info.json_schema_extra or {}).get("secret") else _hide_password(error["input"])  # type: ignore[union-attr]
        problem = f"{env}={shown!r} is refused; allowed: {describe_allowed(info)}"
        if error["type"] == "value_error":  # a validator's own reason says what exactly is wrong and how to fix it
            problem += f" ({str(error['msg']).removeprefix('Value error, ')})"
        problems.append(problem)
    return "; ".join(problems)


def _hide_password(value: Any) -> Any:
    # A refused DB_URL may still carry a password: never echo it to a log or terminal.
    if isinstance(value, str) and "://" in value and "@" in value:
        scheme, _, rest = value.partition("://")
        credentials, _, host = rest.rpartition("@")
        if ":" in credentials:
            return f"{scheme}://{credentials.partition(':')[0]}:***@{host}"
    return value
