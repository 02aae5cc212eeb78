"""OpenAI Chat Completions, and any server that speaks it (vLLM, Ollama, LiteLLM, llama.cpp).

POST {OPENAI_BASE_URL}/chat/completions, `Authorization: Bearer <key>`,
body {model, messages: [{role, content}], temperature, top_p, seed, <max tokens>, stop, presence_penalty,
frequency_penalty, tools, tool_choice, response_format}. A text prompt is one user message; the bundle's neutral form
is OpenAI's own, so tools, tool_choice and response_format go out as they are. The `developer` role goes to
api.openai.com as is and as `system` to every other host (compatible servers mostly know only `system`).
Tool calls come back as choices[0].message.tool_calls: {id, name, arguments} with arguments parsed from their JSON.
Identity: `system_fingerprint` and the response `model` (service/providers/identity.py; OpenAI documents the
fingerprint as nullable and compatible servers often omit it, the dated model name still tells builds apart).

The token limit goes out as `max_completion_tokens` to api.openai.com (its reasoning models reject the deprecated
`max_tokens`) and as `max_tokens` to every other host, because Ollama and llama.cpp only understand that one.
"""

from __future__ import annotations

from typing import Any

import httpx

from service.providers.base import Completion, CompletionRequest, GenerationParams
from service.providers.http import HTTPPolicy, ProviderHTTP, as_int, drop_none, parse_arguments
from service.providers.identity import openai_identity

PROBE_PROMPT = "ping"
OPENAI_HOST = "api.openai.com"


def max_tokens_field(base_url: str) -> str:
    return "max_completion_tokens" if httpx.URL(base_url).host == OPENAI_HOST else "max_tokens"


def chat_body(
    model_id: str,
    prompt: str,
    params: GenerationParams,
    tokens_field: str,
    request: CompletionRequest | None = None,
    *,
    developer_role: bool = True,
) -> dict[str, Any]:
    messages = request.chat() if request is not None else [{"role": "user", "content": prompt}]
    if not developer_role:
        messages = [{**m, "role": "system"} if m["role"] == "developer" else m for m in messages]
    body: dict[str, Any] = {"model": model_id, "messages": messages}
    body.update(
        drop_none(
            {
                "temperature": params.temperature,
                "top_p": params.top_p,
                "seed": params.seed,
                tokens_field: params.max_tokens,
                "stop": list(params.stop) if params.stop else None,
                "presence_penalty": params.presence_penalty,
                "frequency_penalty": params.frequency_penalty,
            }
        )
    )
    if request is not None:
        body.update(
            drop_none(
                {
                    "tools": request.tools,
                    "tool_choice": request.tool_choice,
                    "response_format": request.response_format,
                }
            )
        )
    return body


class OpenAIProvider:
    name = "openai"

    def __init__(self, api_key: str, base_url: str, policy: HTTPPolicy) -> None:
        self.http = ProviderHTTP(
            self.name,
            base_url,
            {"authorization": f"Bearer {api_key}"},
            policy,
            secret=api_key,
            key_env="OPENAI_API_KEY",
        )
        self.tokens_field = max_tokens_field(base_url)
        self.developer_role = httpx.URL(base_url).host == OPENAI_HOST

    @property
    def client(self) -> httpx.AsyncClient:
        return self.http.client

    async def complete(self, request: CompletionRequest) -> Completion:
        body = chat_body(
            request.model_id,
            request.prompt,
            request.params,
            self.tokens_field,
            request,
            developer_role=self.developer_role,
        )
        return self._completion(await self.http.post_json("/chat/completions", body), request.model_id)

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        # One output token: the cheapest call that still returns system_fingerprint. Sampling params do not change it.
        body = chat_body(model_id, PROBE_PROMPT, GenerationParams(max_tokens=1), self.tokens_field)
        return self._completion(await self.http.post_json("/chat/completions", body), model_id)

    def _completion(self, data: dict[str, Any], model_id: str) -> Completion:
        choices = data.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
            raise self.http.malformed("no choices[0].message")
        message = choice["message"]
        text = _text(message.get("content"))
        if text is None:
            raise self.http.malformed("choices[0].message.content is not text")
        fingerprint = data.get("system_fingerprint")
        fingerprint = fingerprint if isinstance(fingerprint, str) and fingerprint else None
        tool_calls = _tool_calls(message.get("tool_calls"))
        reported_model = data.get("model")
        model = reported_model if isinstance(reported_model, str) and reported_model else model_id
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        input_tokens, output_tokens = as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens"))
        metadata = {
            "system_fingerprint": fingerprint,
            **drop_none({"id": data.get("id"), "model": model, "finish_reason": choice.get("finish_reason")}),
            "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens},
        }
        return Completion(
            text=text,
            response_model=model,
            identity=openai_identity(fingerprint, model),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            metadata=metadata,
            system_fingerprint=fingerprint,
            tool_calls=tool_calls,
        )

    async def aclose(self) -> None:
        await self.http.aclose()


def _text(content: Any) -> str | None:
    """`content` is a string, null (a refusal or tool call: no text) or, on some compatible servers, a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str))
    return None


def _tool_calls(raw: Any) -> list[dict[str, Any]] | None:
    """choices[0].message.tool_calls as {id, name, arguments}; arguments are a JSON string on the wire."""
    if not isinstance(raw, list):
        return None
    calls = []
    for call in raw:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        calls.append(
            {"id": call.get("id"), "name": function["name"], "arguments": parse_arguments(function.get("arguments"))}
        )
    return calls or None
