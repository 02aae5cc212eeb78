"""Google Gemini API (`generateContent`).

POST {GOOGLE_BASE_URL}/v1beta/models/{model}:generateContent, header `x-goog-api-key` (never the `?key=` query
parameter: URLs end up in spans and logs), body {contents: [{role: user, parts: [{text}]}],
generationConfig: {temperature, topP, maxOutputTokens, seed, stopSequences, presencePenalty, frequencyPenalty}}.
Identity: the response's `modelVersion`, without the `models/` prefix (service/providers/identity.py).

Chat mapping: system and developer messages join into `systemInstruction`; user stays `user`, assistant becomes
`model`. Tools: one {functionDeclarations: [{name, description, parameters}]}; tool_choice auto/required/none ->
toolConfig.functionCallingConfig.mode AUTO/ANY/NONE, a named function -> ANY with allowedFunctionNames. A response
schema goes out as generationConfig.responseMimeType `application/json` + responseSchema. Gemini's responseSchema is
an OpenAPI subset, so schemas are reduced to it (gemini_schema): type lists with null become `nullable`, keywords it
does not know (additionalProperties, $schema, ...) are dropped. Tool calls come back as `functionCall` parts.
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


# The keywords of Gemini's Schema object (an OpenAPI 3.0 subset); the rest of a JSON Schema is dropped.
GEMINI_SCHEMA_KEYS = (
    "type", "format", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required",
    "propertyOrdering", "items", "minimum", "maximum", "anyOf", "title", "minLength", "maxLength", "pattern",
)  # fmt: skip


def gemini_schema(schema: Any) -> Any:
    """A JSON Schema reduced to Gemini's responseSchema / function parameters subset."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        types = [k for k in kind if k != "null"]
        if len(types) < len(kind):
            out["nullable"] = True
        kind = types[0] if types else "null"
    if kind is not None:
        out["type"] = kind
    for key in GEMINI_SCHEMA_KEYS:
        if key == "type" or key not in schema:
            continue
        value = schema[key]
        if key == "properties" and isinstance(value, dict):
            value = {name: gemini_schema(sub) for name, sub in value.items()}
        elif key == "items":
            value = gemini_schema(value)
        elif key == "anyOf" and isinstance(value, list):
            value = [gemini_schema(sub) for sub in value]
        out[key] = value
    if "const" in schema and "enum" not in out:
        out["enum"] = [schema["const"]]
    return out


def generate_body(prompt: str, params: GenerationParams, request: CompletionRequest | None = None) -> dict[str, Any]:
    chat = request.chat() if request is not None else [{"role": "user", "content": prompt}]
    system = [m["content"] for m in chat if m["role"] in ("system", "developer")]
    contents = [
        {"role": "model" if m["role"] == "assistant" else "user", "parts": [{"text": m["content"]}]}
        for m in chat
        if m["role"] in ("user", "assistant")
    ]
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config = drop_none(
        {
            "temperature": params.temperature,
            "topP": params.top_p,
            "maxOutputTokens": params.max_tokens,
            "seed": params.seed,
            "stopSequences": list(params.stop) if params.stop else None,
            "presencePenalty": params.presence_penalty,
            "frequencyPenalty": params.frequency_penalty,
        }
    )
    if request is not None:
        if request.tools:
            body["tools"] = [{"functionDeclarations": [_declaration(tool["function"]) for tool in request.tools]}]
        if request.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": _calling_config(request.tool_choice)}
        if request.response_format is not None:
            config["responseMimeType"] = "application/json"
            config["responseSchema"] = gemini_schema(request.response_format["json_schema"]["schema"])
    if config:
        body["generationConfig"] = config
    return body


def _declaration(function: dict[str, Any]) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": function["name"]}
    if "description" in function:
        declaration["description"] = function["description"]
    if function.get("parameters", {}).get("properties"):
        declaration["parameters"] = gemini_schema(function["parameters"])
    return declaration


def _calling_config(choice: Any) -> dict[str, Any]:
    if isinstance(choice, dict):
        return {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}
    return {"mode": {"auto": "AUTO", "required": "ANY", "none": "NONE"}[choice]}


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
        data = await self.http.post_json(
            generate_path(request.model_id), generate_body(request.prompt, request.params, request)
        )
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
        tool_calls = [
            {
                "id": part["functionCall"].get("id"),
                "name": part["functionCall"]["name"],
                "arguments": part["functionCall"].get("args", {}),
            }
            for part in parts
            if isinstance(part, dict)
            and isinstance(part.get("functionCall"), dict)
            and isinstance(part["functionCall"].get("name"), str)
        ]
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
            tool_calls=tool_calls or None,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
