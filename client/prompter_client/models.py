"""What the API returns, as msgspec structs (unknown fields are ignored, so a newer server does not break the client)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from prompter_client import chat, split
from prompter_client.rendering import parse_variables, render


class PromptVersion(msgspec.Struct, frozen=True):
    """The version a label points at: the prompt pinned to a provider, model, params and the identity it reported."""

    id: int
    provider: str
    model_id: str
    params: dict[str, Any] = {}
    captured: dict[str, Any] = {}
    pvk: str | None = None
    # The rest of the bundle the version is pinned with (absent: none).
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None


class SplitArm(msgspec.Struct, frozen=True):
    """One arm of a split label, whole (the first is the baseline)."""

    variant: int
    weight: int
    version_id: int
    body: str
    variables: list[str] = []
    template_id: int | None = None
    revision: int | None = None
    version: PromptVersion | None = None
    type: str = "text"
    messages: list[dict[str, Any]] | None = None
    input_schema: dict[str, Any] | None = None


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
    # `text` (the prompt is `body`) or `chat` (it is `messages`, placeholders included); input_schema types variables.
    type: str = "text"
    messages: list[dict[str, Any]] | None = None
    input_schema: dict[str, Any] | None = None
    # A split label: the arm this prompt is (`variant`, its index) and every arm of the split.
    variant: int | None = None
    split: list[SplitArm] | None = None

    def arm_for(self, key: str | None) -> Prompt:
        """This split prompt as the arm `key` gets (sticky: the server's hash), or a random arm without a key. Picked
        locally from the cached split: no request per pick."""
        if not self.split or self.label is None:
            return self
        variant = split.pick_for([arm.weight for arm in self.split], self.name, self.label, key)
        if variant == self.variant:
            return self
        arm = self.split[variant]
        return msgspec.structs.replace(
            self,
            body=arm.body,
            variables=arm.variables,
            template_id=arm.template_id,
            revision=arm.revision,
            version=arm.version,
            type=arm.type,
            messages=arm.messages,
            input_schema=arm.input_schema,
            variant=variant,
        )

    def render(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Any:
        """The prompt with every `{{ var }}` replaced, exactly as the server's run renders it: a string for a text
        prompt, a list of {role, content} messages for a chat prompt (a placeholder message is filled with the list
        given under its name: `prompt.render(question="...", history=[...])`).

        `prompt.render(name="Ada")`, or a mapping for names that are not Python identifiers
        (`prompt.render({"user.name": "Ada"})`). A variable without a value raises `MissingVariables`; values that
        break the prompt's input_schema raise `InvalidVariables` listing every violation."""
        values = {**values, **kwargs} if values else kwargs
        if self.input_schema is not None:
            chat.check_variables(self.input_schema, values, chat.placeholder_names(self.messages or []))
        if self.type == "chat":
            return chat.render_chat(self.messages or [], values)
        return render(self.body, values)

    @property
    def bundle(self) -> dict[str, Any]:
        """What the version is pinned with beside the template: provider, model_id, params, tools, tool_choice,
        response_format (the last three None when not set)."""
        version = self.version
        return {
            "provider": version.provider if version else None,
            "model_id": version.model_id if version else None,
            "params": dict(version.params) if version else {},
            "tools": version.tools if version else None,
            "tool_choice": version.tool_choice if version else None,
            "response_format": version.response_format if version else None,
        }

    def openai_kwargs(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> dict[str, Any]:
        """`openai.OpenAI().chat.completions.create(**prompt.openai_kwargs(...))`: model, messages, tools, tool_choice,
        response_format and the params, rendered like `render`."""
        bundle = self.bundle
        return chat.openai_kwargs(self._model(), self.render(values, **kwargs), bundle["params"], bundle)

    def anthropic_kwargs(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> dict[str, Any]:
        """`anthropic.Anthropic().messages.create(**prompt.anthropic_kwargs(...))`: model, system, messages, tools,
        tool_choice, max_tokens, stop_sequences and the response schema as output_config."""
        bundle = self.bundle
        return chat.anthropic_kwargs(self._model(), self.render(values, **kwargs), bundle["params"], bundle)

    def _model(self) -> str:
        if self.version is None:
            raise ValueError(f"prompt {self.name!r} has no version (a fallback text): it names no model")
        return self.version.model_id


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
    # Chat runs: the rendered messages; any run: tool calls ({id, name, arguments}), and with a response_format the
    # parsed JSON and whether it matched the schema.
    rendered_messages: list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    structured_output: Any = None
    schema_valid: bool | None = None
    # A run through a split label: the arm it used.
    variant: int | None = None
    # `api`, or `playground` for a run a person tried in the web UI's playground.
    source: str = "api"
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
    # A split label's arms ({version_id, weight}, baseline first); None for one target.
    split: list[dict[str, int]] | None = None


class PromptArchive(msgspec.Struct, frozen=True):
    """A prompt name's archive state (`POST /api/prompts/{name}/archive` and `/unarchive`)."""

    name: str
    archived: bool
    archived_at: str | None = None
    archived_by: str | None = None
    org_id: str | None = None
    workspace_id: str | None = None


class RevisionArchive(msgspec.Struct, frozen=True):
    """A revision after `POST /api/prompt-templates/{id}/archive` or `/unarchive` (`archived_at` None: listed)."""

    id: int
    name: str
    revision: int
    archived_at: str | None = None


class VersionArchive(msgspec.Struct, frozen=True):
    """A version after `POST /api/versions/{id}/archive` or `/unarchive` (`archived_at` None: listed)."""

    id: int
    template_id: int
    provider: str
    model_id: str
    archived_at: str | None = None


class PromptDeletion(msgspec.Struct, frozen=True):
    """What `DELETE /api/prompts/{name}` removed (`removed`: each revision with its versions; `labels`) and how many
    results it kept (`results_kept`; they stay in the database, pointing at this record's id)."""

    id: int
    name: str
    actor: str
    results_kept: int
    removed: list[dict[str, Any]] = []
    labels: list[str] = []
    reason: str | None = None
    deleted_at: str | None = None
    org_id: str | None = None
    workspace_id: str | None = None
