"""openai (Chat Completions and Responses): identity = `system_fingerprint` and the dated response `model`."""

from __future__ import annotations

from typing import Any

from prompter_client.integrations import Reading, count, field, text


def _tokens(usage: Any, *names: str) -> int | None:
    for name in names:
        value = count(field(usage, name))
        if value is not None:
            return value
    return None


def read(response: Any) -> Reading:
    usage = field(response, "usage")
    choices = field(response, "choices")
    finish = field(choices[0], "finish_reason") if isinstance(choices, list) and choices else field(response, "status")
    fingerprint, model = text(field(response, "system_fingerprint")), text(field(response, "model"))
    return Reading(
        reported={"system_fingerprint": fingerprint, "model": model},
        input_tokens=_tokens(usage, "prompt_tokens", "input_tokens"),
        output_tokens=_tokens(usage, "completion_tokens", "output_tokens"),
        finish_reason=text(finish),
    )
