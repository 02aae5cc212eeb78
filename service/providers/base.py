"""The adapter interface every LLM provider implements: the built-in fake LLM and the HTTP adapters (openai.py,
anthropic.py, google.py).

A provider answers two calls: `complete` (a real generation) and `probe` (the cheapest call that still reveals the
model identity the provider reports). Both return a `Completion`; its `identity` (service/providers/identity.py) is what
a version is pinned to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from service.providers.identity import Captured
from service.vocabulary import PROVIDERS

__all__ = ["PROVIDERS", "Completion", "CompletionRequest", "GenerationParams", "ProviderAdapter"]


@dataclass(frozen=True, slots=True)
class GenerationParams:
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None

    def __post_init__(self) -> None:
        if self.stop is not None and not isinstance(self.stop, tuple):  # stored as a JSON list
            object.__setattr__(self, "stop", tuple(self.stop))

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> GenerationParams:
        """The params a version was pinned with (its `params` column, as `as_dict` wrote it)."""
        return cls(**stored)

    def as_dict(self) -> dict[str, Any]:
        """Only the params that were set, in a canonical form (floats as floats), for hashing and storage."""
        out: dict[str, Any] = {}
        if self.temperature is not None:
            out["temperature"] = float(self.temperature)
        if self.top_p is not None:
            out["top_p"] = float(self.top_p)
        if self.max_tokens is not None:
            out["max_tokens"] = int(self.max_tokens)
        if self.seed is not None:
            out["seed"] = int(self.seed)
        if self.stop is not None:
            out["stop"] = list(self.stop)
        if self.presence_penalty is not None:
            out["presence_penalty"] = float(self.presence_penalty)
        if self.frequency_penalty is not None:
            out["frequency_penalty"] = float(self.frequency_penalty)
        return out


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """`prompt` is a text prompt, sent as one user message; with `messages` (a chat prompt, neutral roles system,
    developer, user, assistant) `prompt` is only their text for the span. tools, tool_choice and response_format are
    the version's bundle in its neutral (OpenAI) form, service/versions/bundle.py."""

    model_id: str
    prompt: str
    params: GenerationParams = field(default_factory=GenerationParams)
    messages: list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None

    def chat(self) -> list[dict[str, Any]]:
        return self.messages if self.messages is not None else [{"role": "user", "content": self.prompt}]


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    response_model: str
    identity: Captured  # the fields a version is pinned to (service/providers/identity.py)
    input_tokens: int
    output_tokens: int
    metadata: dict[str, Any]
    system_fingerprint: str | None = None
    # The tool calls the model made, each {"id", "name", "arguments"} (arguments parsed from JSON when they are JSON).
    tool_calls: list[dict[str, Any]] | None = None


class ProviderAdapter(Protocol):
    name: str

    async def complete(self, request: CompletionRequest) -> Completion: ...

    async def probe(self, model_id: str, params: GenerationParams) -> Completion: ...

    async def aclose(self) -> None: ...
