"""One LLM call, observed: the GenAI span and metrics around it carry what the provider answered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from service.providers.base import Completion
from telemetry import Telemetry


async def observed_call(
    telemetry: Telemetry,
    provider: str,
    model_id: str,
    call: Callable[[], Awaitable[Completion]],
    *,
    prompt: str | None = None,
) -> Completion:
    """Run `call` inside `telemetry.llm_call`; `prompt` offers the text for the span (kept off unless
    PROMPTER_TRACE_CONTENT is on)."""
    with telemetry.llm_call(provider, model_id) as llm:
        completion = await call()
        llm.set_response(
            model=completion.response_model,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            system_fingerprint=completion.system_fingerprint,
        )
        if prompt is not None:
            llm.set_content(prompt, completion.text)
    return completion
