"""google-genai (Gemini): identity = `model_version` (`modelVersion` in the REST API), without a `models/` prefix."""

from __future__ import annotations

from typing import Any

from prompter_client.integrations import Reading, count, field, text


def read(response: Any) -> Reading:
    version = text(field(response, "model_version")) or text(field(response, "modelVersion"))
    usage = field(response, "usage_metadata") or field(response, "usageMetadata")
    candidates = field(response, "candidates")
    finish = field(candidates[0], "finish_reason") if isinstance(candidates, list) and candidates else None
    finish = getattr(finish, "name", finish)  # an enum in the SDK, a string in JSON
    return Reading(
        reported={"modelVersion": version.removeprefix("models/") if version else None},
        input_tokens=count(field(usage, "prompt_token_count") or field(usage, "promptTokenCount")),
        output_tokens=count(field(usage, "candidates_token_count") or field(usage, "candidatesTokenCount")),
        finish_reason=text(finish),
    )
