"""What the API returns, as msgspec structs (unknown fields are ignored, so a newer server does not break the client)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from prompter_client.rendering import parse_variables, render


class PromptVersion(msgspec.Struct, frozen=True):
    """The version a label points at: the prompt pinned to a provider, model, params and the identity it reported."""

    id: int
    provider: str
    model_id: str
    params: dict[str, Any] = {}
    captured: dict[str, Any] = {}
    pvk: str | None = None


class Prompt(msgspec.Struct, frozen=True):
    """A resolved prompt: `GET /api/prompts/{name}?label=...`. Immutable and shared by every caller of the cache."""

    name: str
    body: str
    variables: list[str] = []
    label: str | None = None
    template_id: int | None = None
    revision: int | None = None
    version: PromptVersion | None = None
    updated_at: str | None = None
    # True when runs now report another model identity than the one this version was pinned to; `reported` is it.
    drift: bool = False
    reported: dict[str, Any] | None = None
    # True only for the caller's `fallback=` text, served when Prompter could not be reached for a first fetch.
    is_fallback: bool = False

    def render(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """The body with every `{{ var }}` replaced, exactly as the server's run renders it.

        `prompt.render(name="Ada")`, or a mapping for names that are not Python identifiers
        (`prompt.render({"user.name": "Ada"})`). A variable without a value raises `MissingVariables`."""
        return render(self.body, {**values, **kwargs} if values else kwargs)


def fallback_prompt(name: str, label: str | None, body: str) -> Prompt:
    return Prompt(name=name, body=body, variables=parse_variables(body), label=label, is_fallback=True)


class Usage(msgspec.Struct, frozen=True):
    input_tokens: int = 0
    output_tokens: int = 0


class RunResult(msgspec.Struct, frozen=True):
    """A stored run (`POST /api/prompts/{name}/run`): the rendered prompt, the output and the identity that produced it."""

    id: int
    output: str
    rendered_prompt: str = ""
    template_id: int | None = None
    version_id: int | None = None
    label: str | None = None
    pvk: str | None = None
    provider: str | None = None
    model_id: str | None = None
    variables: dict[str, Any] = {}
    system_fingerprint: str | None = None
    provider_metadata: dict[str, Any] = {}
    usage: Usage = Usage()
    latency_ms: float | None = None
    trace_id: str | None = None
    identity_matches_label: bool | None = None
    created_at: str | None = None
    # True when the server answered a retry with the stored answer of an earlier run with the same idempotency key.
    replayed: bool = False


class Label(msgspec.Struct, frozen=True):
    """A label and its target (`PUT /api/prompts/{name}/labels/{label}`)."""

    name: str
    label: str
    version_id: int
    template_id: int | None = None
    revision: int | None = None
    provider: str | None = None
    model_id: str | None = None
    captured: dict[str, Any] = {}
    protected: bool = False
    automatic: bool = False
    drift: bool = False
    updated_at: str | None = None
    updated_by: str | None = None
