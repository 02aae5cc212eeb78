"""The built-in fake LLM of the design note: deterministic, offline, shaped like each provider's real metadata.

openai    -> system_fingerprint = "fp_stub_" + sha256("openai:" + model_id)[:8], model = model_id
google    -> modelVersion       = "<model_id>-stub-001"
anthropic -> model              = model_id
`identity_overrides` (PROMPTER_FAKE_IDENTITY) replaces the reported value (fingerprint / modelVersion / model) per
provider, to demonstrate drift. The identity dict itself follows the real rules (service/providers/identity.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from service.providers.base import Completion, CompletionRequest, GenerationParams
from service.providers.identity import anthropic_identity, canonical_model_id, google_identity, openai_identity

PROBE_PROMPT = "ping"


def _hash8(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def stub_identity(provider: str, model_id: str) -> str:
    if provider == "openai":
        return f"fp_stub_{_hash8('openai:' + model_id)}"
    if provider == "google":
        return f"{model_id}-stub-001"
    return model_id


class FakeProvider:
    def __init__(self, name: str, identity_overrides: Mapping[str, str] | None = None) -> None:
        self.name = name
        self._overrides = dict(identity_overrides or {})

    def set_identity(self, identity: str | None) -> None:
        """Change the identity this fake reports from now on (None restores the stub)."""
        if identity is None:
            self._overrides.pop(self.name, None)
        else:
            self._overrides[self.name] = identity

    def _identity(self, model_id: str) -> str:
        return self._overrides.get(self.name) or stub_identity(self.name, model_id)

    async def complete(self, request: CompletionRequest) -> Completion:
        """Honours the bundle: a tool call when tools are given and tool_choice asks for one, JSON derived from the
        response_format's schema when one is set (valid against it), otherwise the echo text."""
        tool = _forced_tool(request.tools, request.tool_choice)
        if tool is not None:
            arguments = example_of(tool.get("parameters") or {"type": "object"})
            call = {
                "id": f"{_CALL_PREFIX.get(self.name, 'call_')}{_hash8(request.prompt + tool['name'])}",
                "name": tool["name"],
                "arguments": arguments,
            }
            completion = self._completion(request.model_id, request.prompt, "", finish="tool")
            completion.metadata["tool_calls"] = [call]
            return _with_tool_calls(completion, [call])
        if request.response_format is not None:
            schema = request.response_format["json_schema"]["schema"]
            text = json.dumps(example_of(schema), ensure_ascii=False, separators=(",", ":"))
            return self._completion(request.model_id, request.prompt, text)
        text = f"[fake {self.name}:{request.model_id}] {_hash8(request.prompt)} " + request.prompt[:200]
        if request.params.max_tokens is not None:
            text = " ".join(text.split()[: max(1, request.params.max_tokens)])
        return self._completion(request.model_id, request.prompt, text)

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        return self._completion(model_id, PROBE_PROMPT, "pong")

    def _completion(self, model_id: str, prompt: str, text: str, finish: str | None = None) -> Completion:
        model_id = canonical_model_id(self.name, model_id)
        reported = self._identity(model_id)
        metadata: dict[str, Any] = {"fake": True}
        if self.name == "openai":
            metadata.update(system_fingerprint=reported, model=model_id)
            if finish:
                metadata["finish_reason"] = "tool_calls"
            identity, response_model = openai_identity(reported, model_id), model_id
        elif self.name == "google":
            metadata["modelVersion"] = reported
            if finish:
                metadata["finishReason"] = "STOP"
            identity, response_model = google_identity(reported), model_id
        else:
            metadata["model"] = reported
            if finish:
                metadata["stop_reason"] = "tool_use"
            identity, response_model = anthropic_identity(reported), reported
        return Completion(
            text=text,
            response_model=response_model,
            identity=identity,
            input_tokens=len(prompt.split()),
            output_tokens=len(text.split()),
            metadata=metadata,
            system_fingerprint=reported if self.name == "openai" else None,
        )

    async def aclose(self) -> None:
        return None


# Tool call ids in each provider's spelling (Gemini's function calls carry none: the name stands in).
_CALL_PREFIX = {"openai": "call_", "anthropic": "toolu_", "google": "fc_"}


def _forced_tool(tools: list[dict[str, Any]] | None, tool_choice: Any) -> dict[str, Any] | None:
    """The function tool_choice asks for: the named one, or the first for "required"; None for auto/none/absent."""
    if not tools:
        return None
    functions = [tool["function"] for tool in tools]
    if tool_choice == "required":
        return functions[0]
    if isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name")
        return next((f for f in functions if f["name"] == name), None)
    return None


def _with_tool_calls(completion: Completion, calls: list[dict[str, Any]]) -> Completion:
    from dataclasses import replace

    return replace(completion, tool_calls=calls)


def example_of(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A deterministic instance of a JSON Schema: const, the first enum value, the default, else the smallest value
    of the type that meets its bounds; objects get every listed property. Local `$ref`s (`#/$defs/x`) are followed."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 32:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return example_of(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return example_of(schema[key][0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        return {name: example_of(sub, root, depth + 1) for name, sub in properties.items()}  # type: ignore[union-attr]
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 0)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [example_of(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2026-01-01T00:00:00Z"
        if schema.get("format") == "date":
            return "2026-01-01"
        text = "text"
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        text = text.ljust(low, "x")
        return text[: int(high)] if high is not None else text
    if kind in ("integer", "number"):
        value = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        if "exclusiveMinimum" in schema and "minimum" not in schema:
            value += 1  # type: ignore[operator]
        if "maximum" in schema and value > schema["maximum"]:
            value = schema["maximum"]
        return int(value) if kind == "integer" else float(value)  # type: ignore[arg-type]
    if kind == "boolean":
        return False
    return None
