from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from service.db.models import PromptResult, PromptTemplate
from service.http.schemas import ModelId, Params, ProviderName, generation_params, reject_nul
from service.runs.service import RunCommand
from service.versions.bundle import Bundle
from service.versions.schemas import ResponseFormat, ToolChoice, Tools


class RunRequest(Struct, forbid_unknown_fields=True):
    provider: ProviderName
    model_id: ModelId
    variables: dict[str, Any] = {}
    params: Params | None = None
    tools: Tools | None = None
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None

    def __post_init__(self) -> None:
        reject_nul(provider=self.provider, model_id=self.model_id, variables=self.variables)

    def command(self, template: PromptTemplate, bundle: Bundle) -> RunCommand:
        return RunCommand(
            template, self.provider, self.model_id, generation_params(self.params), self.variables, bundle
        )


class Usage(Struct):
    input_tokens: int
    output_tokens: int


class ResultOut(Struct):
    id: int
    template_id: int
    version_id: int
    pvk: str
    provider: str
    model_id: str
    variables: dict[str, Any]
    rendered_prompt: str
    output: str
    system_fingerprint: str | None
    provider_metadata: dict[str, Any]
    usage: Usage
    latency_ms: float
    trace_id: str | None
    created_at: datetime
    # Runs through a label (POST /api/prompts/{name}/run): the label, and whether the provider reported the identity
    # the labelled version was pinned to. Both null for runs by template id.
    label: str | None = None
    identity_matches_label: bool | None = None
    # Chat runs: the rendered messages (`rendered_prompt` is "" then).
    rendered_messages: list[dict[str, Any]] | None = None
    # What came back beside the text: the tool calls ({id, name, arguments}), and for a version with a
    # response_format the parsed JSON and whether it matched the schema (null without a response_format).
    tool_calls: list[dict[str, Any]] | None = None
    structured_output: Any = None
    schema_valid: bool | None = None
    # A run through a split label: the arm it used (its index in the split).
    variant: int | None = None
    # `api` for a run through the API, `playground` for one a person tried in the web UI's playground.
    source: str = "api"

    @classmethod
    def of(cls, row: PromptResult) -> ResultOut:
        return cls(
            id=row.id,
            template_id=row.template_id,
            version_id=row.version_id,
            pvk=row.pvk,
            provider=row.provider,
            model_id=row.model_id,
            variables=dict(row.variables),
            rendered_prompt=row.rendered_prompt,
            output=row.output,
            system_fingerprint=row.system_fingerprint,
            provider_metadata=dict(row.provider_metadata),
            usage=Usage(row.input_tokens, row.output_tokens),
            latency_ms=row.latency_ms,
            trace_id=row.trace_id,
            created_at=row.created_at,
            label=row.label,
            identity_matches_label=row.identity_matches_label,
            rendered_messages=row.rendered_messages,
            tool_calls=row.tool_calls,
            structured_output=row.structured_output,
            schema_valid=row.schema_valid,
            variant=row.variant,
            source=row.source or "api",
        )


class ResultPage(Struct):
    items: list[ResultOut]
    next_cursor: str | None
