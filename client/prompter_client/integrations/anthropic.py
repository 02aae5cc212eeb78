"""anthropic (Messages): identity = the dated response `model`."""

from __future__ import annotations

from typing import Any

from prompter_client.integrations import Reading, count, field, text


def read(response: Any) -> Reading:
    usage = field(response, "usage")
    return Reading(
        reported={"model": text(field(response, "model"))},
        input_tokens=count(field(usage, "input_tokens")),
        output_tokens=count(field(usage, "output_tokens")),
        finish_reason=text(field(response, "stop_reason")),
    )
