"""Google Gemini API (`generateContent`).

POST {GOOGLE_BASE_URL}/v1beta/models/{model}:generateContent, header `x-goog-api-key` (never the `?key=` query
parameter: URLs end up in spans and logs), body {contents: [{role: user, parts: [{text}]}],
generationConfig: {temperature, topP, maxOutputTokens, seed}}. Identity: the response's `modelVersion`, without the
`models/` prefix (service/providers/identity.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from service.providers.base import Completion, CompletionRequest, GenerationParams
from service.providers.http import HTTPPolicy, ProviderHTTP, as_int, drop_none
from service.providers.identity import canonical_model_id, google_identity

PROBE_PROMPT = "ping"


def generate_path(model_id: str) -> str:
    # Accept the API's own "models/<id>" spelling; quote the rest whole so a model id can never change the path.
    model = canonical_model_id("google", model_id)
    return f"/v1beta/models/{quote(model, safe='')}:generateContent"


def generate_body(prompt: str, params: GenerationParams) -> dict[str, Any]:
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    config = drop_none(
        {
            "temperature": params.temperature,
            "topP": params.top_p,
            "maxOutputTokens": params.max_tokens,
            "seed": params.seed,
        }
    )
    if config:
        body["generationConfig"] = config
    return body


class GoogleProvider:
    name = "google"

    def __init__(self, api_key: str, base_url: str, policy: HTTPPolicy) -> None:
        self.http = ProviderHTTP(
            self.name, base_url, {"x-goog-api-key": api_key}, policy, secret=api_key, key_env="GOOGLE_API_KEY"
        )

    @property
    def client(self) -> httpx.AsyncClient:
        return self.http.client

    async def complete(self, request: CompletionRequest) -> Completion:
        data = await self.http.post_json(generate_path(request.model_id), generate_body(request.prompt, request.params))
        return self._completion(data, request.model_id)

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        data = await self.http.post_json(
            generate_path(model_id), generate_body(PROBE_PROMPT, GenerationParams(max_tokens=1))
        )
        return self._completion(data, model_id)

    def _completion(self, data: dict[str, Any], model_id: str) -> Completion:
        candidates = data.get("candidates")
        if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
            feedback = data.get("promptFeedback")
            reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
            if isinstance(reason, str):
                raise self.http.malformed(f"no candidates (prompt blocked: {reason})")
            raise self.http.malformed("no candidates")
        candidate = candidates[0]
        # A candidate cut at maxOutputTokens (the probe) may carry no content at all; that is still a valid answer.
        content = candidate.get("content")
        content = content if isinstance(content, dict) else {}
        parts = content.get("parts")
        parts = parts if isinstance(parts, list) else []
        text = "".join(
            part["text"]
            for part in parts
            if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought")
        )
        raw_version = data.get("modelVersion")
        identity = google_identity(raw_version)
        version = identity["modelVersion"]
        usage = data.get("usageMetadata")
        usage = usage if isinstance(usage, dict) else {}
        input_tokens, output_tokens = as_int(usage.get("promptTokenCount")), as_int(usage.get("candidatesTokenCount"))
        metadata = {
            "modelVersion": raw_version if isinstance(raw_version, str) and raw_version else None,
            **drop_none({"responseId": data.get("responseId"), "finishReason": candidate.get("finishReason")}),
            "usageMetadata": drop_none(
                {
                    "promptTokenCount": input_tokens,
                    "candidatesTokenCount": output_tokens,
                    "thoughtsTokenCount": usage.get("thoughtsTokenCount"),
                }
            ),
        }
        return Completion(
            text=text,
            response_model=version or canonical_model_id("google", model_id),
            identity=identity,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            metadata=metadata,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
