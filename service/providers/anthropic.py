"""Anthropic Messages API.

POST {ANTHROPIC_BASE_URL}/v1/messages, headers `x-api-key` and `anthropic-version: 2023-06-01`,
body {model, max_tokens, system, messages: [{role: user|assistant, content}], temperature, top_p, stop_sequences,
tools, tool_choice, output_config}.
`max_tokens` is required by the API: DEFAULT_MAX_TOKENS when the caller gives none. `seed` and the presence and
frequency penalties have no Anthropic equivalent and are not sent (they still key the version, like every param).
Identity: the response's `model`.

Chat mapping: system and developer messages join (in order, blank-line separated) into the top-level `system`; the
rest keep their user/assistant roles. Tools: {name, description, input_schema}; tool_choice auto -> {type: auto},
required -> {type: any}, a named function -> {type: tool, name}, none -> {type: none}. Structured output the way
Anthropic's API does it: `output_config: {format: {type: json_schema, schema}}`. Tool calls come back as `tool_use`
content blocks: {id, name, arguments: input}.
"""

from __future__ import annotations

from typing import Any

import httpx

from service.providers.base import Completion, CompletionRequest, GenerationParams
from service.providers.http import HTTPPolicy, ProviderHTTP, as_int, drop_none
from service.providers.identity import anthropic_identity

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
PROBE_PROMPT = "ping"


def messages_body(
    model_id: str, prompt: str, params: GenerationParams, request: CompletionRequest | None = None
) -> dict[str, Any]:
    chat = request.chat() if request is not None else [{"role": "user", "content": prompt}]
    system = [m["content"] for m in chat if m["role"] in ("system", "developer")]
    body: dict[str, Any] = {
        "model": model_id,
        "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": [{"role": m["role"], "content": m["content"]} for m in chat if m["role"] in ("user", "assistant")],
    }
    if system:
        body["system"] = "\n\n".join(system)
    body.update(
        drop_none(
            {
                "temperature": params.temperature,
                "top_p": params.top_p,
                "stop_sequences": list(params.stop) if params.stop else None,
            }
        )
    )
    if request is not None:
        if request.tools:
            body["tools"] = [_tool(tool["function"]) for tool in request.tools]
        if request.tool_choice is not None:
            body["tool_choice"] = _tool_choice(request.tool_choice)
        if request.response_format is not None:
            schema = request.response_format["json_schema"]["schema"]
            body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    return body


def _tool(function: dict[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = {
        "name": function["name"],
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if "description" in function:
        tool["description"] = function["description"]
    return tool


def _tool_choice(choice: Any) -> dict[str, Any]:
    if isinstance(choice, dict):
        return {"type": "tool", "name": choice["function"]["name"]}
    return {"type": {"auto": "auto", "required": "any", "none": "none"}[choice]}


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, api_key: str, base_url: str, policy: HTTPPolicy) -> None:
        headers = {"x-api-key": api_key, "anthropic-version": API_VERSION}
        self.http = ProviderHTTP(self.name, base_url, headers, policy, secret=api_key, key_env="ANTHROPIC_API_KEY")

    @property
    def client(self) -> httpx.AsyncClient:
        return self.http.client

    async def complete(self, request: CompletionRequest) -> Completion:
        body = messages_body(request.model_id, request.prompt, request.params, request)
        return self._completion(await self.http.post_json("/v1/messages", body))

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        body = messages_body(model_id, PROBE_PROMPT, GenerationParams(max_tokens=1))
        return self._completion(await self.http.post_json("/v1/messages", body))

    def _completion(self, data: dict[str, Any]) -> Completion:
        content, model = data.get("content"), data.get("model")
        if not isinstance(content, list):
            raise self.http.malformed("no `content` list")
        if not isinstance(model, str) or not model:
            raise self.http.malformed("no `model`")
        text = "".join(
            block["text"]
            for block in content
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)
        )
        tool_calls = [
            {"id": block.get("id"), "name": block["name"], "arguments": block.get("input")}
            for block in content
            if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("name"), str)
        ]
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        input_tokens, output_tokens = as_int(usage.get("input_tokens")), as_int(usage.get("output_tokens"))
        metadata = {
            "model": model,
            **drop_none({"id": data.get("id"), "stop_reason": data.get("stop_reason")}),
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
        return Completion(
            text=text,
            response_model=model,
            identity=anthropic_identity(model),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            metadata=metadata,
            tool_calls=tool_calls or None,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
