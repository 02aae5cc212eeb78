"""Anthropic Messages API.

POST {ANTHROPIC_BASE_URL}/v1/messages, headers `x-api-key` and `anthropic-version: 2023-06-01`,
body {model, max_tokens, messages: [{role: user, content: prompt}], temperature, top_p}.
`max_tokens` is required by the API: DEFAULT_MAX_TOKENS when the caller gives none. `seed` has no Anthropic
equivalent and is not sent (it still keys the version, like every param). Identity: the response's `model`.
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


def messages_body(model_id: str, prompt: str, params: GenerationParams) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model_id,
        "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": prompt}],
    }
    body.update(drop_none({"temperature": params.temperature, "top_p": params.top_p}))
    return body


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, api_key: str, base_url: str, policy: HTTPPolicy) -> None:
        headers = {"x-api-key": api_key, "anthropic-version": API_VERSION}
        self.http = ProviderHTTP(self.name, base_url, headers, policy, secret=api_key, key_env="ANTHROPIC_API_KEY")

    @property
    def client(self) -> httpx.AsyncClient:
        return self.http.client

    async def complete(self, request: CompletionRequest) -> Completion:
        body = messages_body(request.model_id, request.prompt, request.params)
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
        )

    async def aclose(self) -> None:
        await self.http.aclose()
