"""Chat prompts rendered as the server renders them, and the keyword arguments the official SDKs take.

- `render_chat(messages, values)`: every `{{ var }}` substituted in one pass (rendering.py's rules), each placeholder
  message replaced by the list of messages given under its name (`history=[...]`; no value: no messages).
- `check_variables(input_schema, values)`: the server's typed-variable check. With the `jsonschema` package installed
  it is the very validator the server runs; without it, a built-in check of the common keywords (type, enum, const,
  required, properties, additionalProperties, items, string and number bounds), so the client's runtime dependencies
  stay httpx and msgspec.
- `openai_kwargs(...)` / `anthropic_kwargs(...)`: `client.chat.completions.create(**kw)` / `client.messages.create(**kw)`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from prompter_client.errors import InvalidVariables, MissingVariables
from prompter_client.rendering import PLACEHOLDER, parse_variables, render

ROLES = ("system", "developer", "user", "assistant")
ANTHROPIC_DEFAULT_MAX_TOKENS = 1024  # the server's Anthropic adapter sends the same when params have none


def placeholder_names(messages: list[dict[str, Any]]) -> list[str]:
    return [m["name"] for m in messages if m.get("type") == "placeholder"]


def chat_variables(messages: list[dict[str, Any]]) -> list[str]:
    found: dict[str, None] = {}
    for message in messages:
        if "content" in message:
            found.update(dict.fromkeys(parse_variables(message["content"])))
    return list(found)


def _history(name: str, value: Any) -> list[dict[str, Any]]:
    path = f"variables.{name}"
    if not isinstance(value, list):
        raise InvalidVariables([{"path": path, "message": "must be a list of messages"}], code="invalid_history")
    out = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(item, dict) or set(item) - {"role", "content"}:
            raise InvalidVariables([{"path": where, "message": "a message is {role, content}"}], code="invalid_history")
        if item.get("role") not in ROLES:
            raise InvalidVariables([{"path": f"{where}.role", "message": "unknown role"}], code="invalid_history")
        if not isinstance(item.get("content"), str) or not item["content"]:
            raise InvalidVariables([{"path": f"{where}.content", "message": "needs text"}], code="invalid_history")
        out.append({"role": item["role"], "content": item["content"]})
    return out


def render_chat(messages: list[dict[str, Any]], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    missing = [name for name in chat_variables(messages) if name not in values]
    if missing:
        raise MissingVariables(missing)
    rendered: list[dict[str, Any]] = []
    for message in messages:
        if message.get("type") == "placeholder":
            name = message["name"]
            rendered.extend(_history(name, values[name]) if name in values else [])
        else:
            rendered.append({"role": message["role"], "content": render(message["content"], values)})
    return rendered


# -- typed variables ------------------------------------------------------------------------------------------------


def check_variables(input_schema: dict[str, Any], values: Mapping[str, Any], placeholders: list[str]) -> None:
    instance = {name: value for name, value in values.items() if name not in placeholders}
    try:
        from jsonschema import Draft202012Validator
    except ImportError:
        found = _subset_violations(input_schema, instance, "")
    else:
        found = []
        for error in Draft202012Validator(input_schema).iter_errors(instance):
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            found.append({"path": path.lstrip(".") or "$", "message": error.message[:300]})
    if found:
        found.sort(key=lambda v: (v["path"], v["message"]))
        raise InvalidVariables(found)


_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _subset_violations(schema: Any, value: Any, path: str) -> list[dict[str, str]]:
    if not isinstance(schema, dict):
        return []
    where = path.lstrip(".") or "$"
    found: list[dict[str, str]] = []

    def add(message: str) -> None:
        found.append({"path": where, "message": message})

    kinds = schema.get("type")
    if kinds is not None:
        allowed = kinds if isinstance(kinds, list) else [kinds]
        if not any(_TYPES.get(kind, lambda _: True)(value) for kind in allowed):
            add(f"{value!r} is not of type {', '.join(repr(k) for k in allowed)}")
            return found
    if "enum" in schema and value not in schema["enum"]:
        add(f"{value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        add(f"{schema['const']!r} was expected")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            add(f"{value!r} is too short")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            add(f"{value!r} is too long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            add(f"{value!r} does not match {schema['pattern']!r}")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            add(f"{value!r} is less than the minimum of {schema['minimum']!r}")
        if "maximum" in schema and value > schema["maximum"]:
            add(f"{value!r} is greater than the maximum of {schema['maximum']!r}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                add(f"{name!r} is a required property")
        for name, item in value.items():
            if name in properties:
                found += _subset_violations(properties[name], item, f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                add(f"Additional properties are not allowed ({name!r} was unexpected)")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += _subset_violations(schema["items"], item, f"{path}[{index}]")
    return found


# -- the official SDKs ----------------------------------------------------------------------------------------------


def as_messages(rendered: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A text prompt is one user message, as the server sends it."""
    return [{"role": "user", "content": rendered}] if isinstance(rendered, str) else rendered


def openai_kwargs(
    model: str, rendered: str | list[dict[str, Any]], params: Mapping[str, Any], bundle: Mapping[str, Any]
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": model, "messages": as_messages(rendered)}
    for key in ("temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty"):
        if params.get(key) is not None:
            kwargs[key] = params[key]
    if params.get("max_tokens") is not None:
        kwargs["max_completion_tokens"] = params["max_tokens"]
    for key in ("tools", "tool_choice", "response_format"):
        if bundle.get(key) is not None:
            kwargs[key] = bundle[key]
    return kwargs


def anthropic_kwargs(
    model: str, rendered: str | list[dict[str, Any]], params: Mapping[str, Any], bundle: Mapping[str, Any]
) -> dict[str, Any]:
    """The server's Anthropic mapping: system and developer messages joined into `system`, tools as
    {name, description, input_schema}, the response schema as output_config.format. Sampling params that recent SDKs
    no longer declare (temperature, top_p) travel in `extra_body`, which every SDK version accepts."""
    messages = as_messages(rendered)
    system = [m["content"] for m in messages if m["role"] in ("system", "developer")]
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": params.get("max_tokens") or ANTHROPIC_DEFAULT_MAX_TOKENS,
        "messages": [m for m in messages if m["role"] in ("user", "assistant")],
    }
    if system:
        kwargs["system"] = "\n\n".join(system)
    if params.get("stop"):
        kwargs["stop_sequences"] = list(params["stop"])
    sampling = {key: params[key] for key in ("temperature", "top_p") if params.get(key) is not None}
    if sampling:
        kwargs["extra_body"] = sampling
    if bundle.get("tools"):
        kwargs["tools"] = [_anthropic_tool(tool["function"]) for tool in bundle["tools"]]
    choice = bundle.get("tool_choice")
    if choice is not None:
        if isinstance(choice, dict):
            kwargs["tool_choice"] = {"type": "tool", "name": choice["function"]["name"]}
        else:
            kwargs["tool_choice"] = {"type": {"auto": "auto", "required": "any", "none": "none"}[choice]}
    if bundle.get("response_format") is not None:
        schema = bundle["response_format"]["json_schema"]["schema"]
        kwargs["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    return kwargs


def _anthropic_tool(function: Mapping[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = {
        "name": function["name"],
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if "description" in function:
        tool["description"] = function["description"]
    return tool


__all__ = ["PLACEHOLDER", "anthropic_kwargs", "check_variables", "openai_kwargs", "render_chat"]
