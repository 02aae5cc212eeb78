"""The prompt bundle: what a version carries beside provider, model and params - tool definitions, tool_choice and a
response_format - validated, in one canonical form, and keyed into the version key.

The neutral form is OpenAI's (each adapter maps it to its own wire format, service/providers/):
  tools            [{"type": "function", "function": {"name", "description"?, "parameters"?: JSON Schema, "strict"?}}]
  tool_choice      "none" | "auto" | "required" | {"type": "function", "function": {"name": <one of the tools>}}
  response_format  {"type": "json_schema", "json_schema": {"name", "schema": JSON Schema, "description"?, "strict"?}}
A version without any of them is keyed exactly as before they existed: the pvks of existing versions do not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from service.errors import Unprocessable
from service.templates.chat import canonical_size
from service.templates.typed import check_user_schema

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOOL_CHOICES = ("none", "auto", "required")


@dataclass(frozen=True, slots=True)
class Bundle:
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Only what is set: the part of the version key (and of the lineage) beyond params."""
        out: dict[str, Any] = {}
        if self.tools is not None:
            out["tools"] = self.tools
        if self.tool_choice is not None:
            out["tool_choice"] = self.tool_choice
        if self.response_format is not None:
            out["response_format"] = self.response_format
        return out

    @property
    def response_schema(self) -> dict[str, Any] | None:
        if self.response_format is None:
            return None
        return self.response_format["json_schema"]["schema"]

    @property
    def forced_tool(self) -> str | None:
        """The tool name tool_choice forces, `*` for "required" (any tool), None when no tool call is asked for."""
        if self.tool_choice == "required":
            return "*"
        if isinstance(self.tool_choice, dict):
            return self.tool_choice["function"]["name"]
        return None

    @classmethod
    def of_version(cls, version: Any) -> Bundle:
        return cls(version.tools, version.tool_choice, version.response_format)


NO_BUNDLE = Bundle()


def _bad(path: str, detail: str, code: str = "invalid_bundle") -> Unprocessable:
    """422: the OpenAPI document declares tools and response_format as free-form objects; these rules refuse them."""
    return Unprocessable(f"`{path}`: {detail}", code=code, path=path)


def _only(value: dict[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(set(value) - allowed)
    if extra:
        raise _bad(f"{path}.{str(extra[0])[:40]}", f"unknown field; allowed: {', '.join(sorted(allowed))}")


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not TOOL_NAME.match(value):
        raise _bad(path, "a name of 1 to 64 letters, digits, underscores or dashes")
    return value


def check_bundle(tools: Any, tool_choice: Any, response_format: Any, *, max_schema_bytes: int) -> Bundle:
    """The bundle, or a 422 naming the path of what is malformed (nothing is stored then)."""
    checked_tools = None if tools is None else _check_tools(tools, max_schema_bytes)
    checked_choice = None if tool_choice is None else _check_choice(tool_choice, checked_tools)
    checked_format = None if response_format is None else _check_format(response_format, max_schema_bytes)
    return Bundle(checked_tools, checked_choice, checked_format)


def _check_tools(tools: Any, max_bytes: int) -> list[dict[str, Any]]:
    if not isinstance(tools, list) or not tools:
        raise _bad("tools", "a non-empty list of function definitions (omit it for none)")
    size = canonical_size(tools)
    if size > max_bytes:
        raise _bad(
            "tools",
            f"{size} bytes as canonical JSON; the limit is {max_bytes} (PROMPTER_MAX_SCHEMA_BYTES)",
            code="schema_too_large",
        )
    seen: set[str] = set()
    out = []
    for index, tool in enumerate(tools):
        path = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
            raise _bad(path, 'a tool is {"type": "function", "function": {"name", "description", "parameters"}}')
        _only(tool, {"type", "function"}, path)
        function = tool["function"]
        _only(function, {"name", "description", "parameters", "strict"}, f"{path}.function")
        name = _name(function.get("name"), f"{path}.function.name")
        if name in seen:
            raise _bad(f"{path}.function.name", f"tool {name!r} is defined twice")
        seen.add(name)
        checked: dict[str, Any] = {"name": name}
        if "description" in function:
            if not isinstance(function["description"], str):
                raise _bad(f"{path}.function.description", "a string")
            checked["description"] = function["description"]
        if "parameters" in function:
            parameters = check_user_schema(function["parameters"], f"{path}.function.parameters", max_bytes=max_bytes)
            if parameters.get("type") != "object":
                raise _bad(f"{path}.function.parameters.type", 'function parameters are a schema of "type": "object"')
            checked["parameters"] = parameters
        if "strict" in function:
            if not isinstance(function["strict"], bool):
                raise _bad(f"{path}.function.strict", "true or false")
            checked["strict"] = function["strict"]
        out.append({"type": "function", "function": checked})
    return out


def _check_choice(choice: Any, tools: list[dict[str, Any]] | None) -> str | dict[str, Any]:
    if tools is None:
        raise _bad("tool_choice", "tool_choice needs `tools`")
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            raise _bad("tool_choice", f"one of {', '.join(TOOL_CHOICES)}, or {{type: function, function: {{name}}}}")
        return choice
    if not isinstance(choice, dict) or choice.get("type") != "function" or not isinstance(choice.get("function"), dict):
        raise _bad("tool_choice", f"one of {', '.join(TOOL_CHOICES)}, or {{type: function, function: {{name}}}}")
    _only(choice, {"type", "function"}, "tool_choice")
    _only(choice["function"], {"name"}, "tool_choice.function")
    name = _name(choice["function"].get("name"), "tool_choice.function.name")
    if name not in {tool["function"]["name"] for tool in tools}:
        raise _bad("tool_choice.function.name", f"{name!r} is not one of the tools")
    return {"type": "function", "function": {"name": name}}


def _check_format(response_format: Any, max_bytes: int) -> dict[str, Any]:
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        raise _bad("response_format", '{"type": "json_schema", "json_schema": {"name", "schema"}}')
    _only(response_format, {"type", "json_schema"}, "response_format")
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict):
        raise _bad("response_format.json_schema", "an object with `name` and `schema`")
    _only(spec, {"name", "schema", "description", "strict"}, "response_format.json_schema")
    checked: dict[str, Any] = {"name": _name(spec.get("name"), "response_format.json_schema.name")}
    if "schema" not in spec:
        raise _bad("response_format.json_schema.schema", "the JSON Schema the output must match")
    checked["schema"] = check_user_schema(spec["schema"], "response_format.json_schema.schema", max_bytes=max_bytes)
    if "description" in spec:
        if not isinstance(spec["description"], str):
            raise _bad("response_format.json_schema.description", "a string")
        checked["description"] = spec["description"]
    if "strict" in spec:
        if not isinstance(spec["strict"], bool):
            raise _bad("response_format.json_schema.strict", "true or false")
        checked["strict"] = spec["strict"]
    return {"type": "json_schema", "json_schema": checked}
