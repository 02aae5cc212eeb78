from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from service.db.models import PromptVersion
from service.http.schemas import ModelId, Params, ProviderName, reject_nul

Tools = Annotated[
    list[dict[str, Any]],
    Meta(
        description='Function tools, OpenAI\'s shape: [{"type": "function", "function": {"name", "description", '
        '"parameters": JSON Schema}}]. Part of the version key.'
    ),
]
ToolChoice = Annotated[
    str | dict[str, Any],
    Meta(description='"none", "auto", "required" or {"type": "function", "function": {"name"}}.'),
]
ResponseFormat = Annotated[
    dict[str, Any],
    Meta(
        description='{"type": "json_schema", "json_schema": {"name", "schema": JSON Schema}}: runs check the output '
        "against it (`schema_valid`)."
    ),
]


class EnsureVersionRequest(Struct, forbid_unknown_fields=True):
    provider: ProviderName
    model_id: ModelId
    params: Params | None = None
    refresh: bool = False  # true = bypass the probe cache and ask the provider now (check for drift immediately)
    tools: Tools | None = None
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None

    def __post_init__(self) -> None:
        reject_nul(provider=self.provider, model_id=self.model_id)


class VersionOut(Struct):
    id: int
    template_id: int
    provider: str
    model_id: str
    params: dict[str, Any]
    pvk: str
    captured: dict[str, Any]
    created: bool
    drift: bool
    created_at: datetime
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    archived_at: datetime | None = None  # set while the version is archived (POST /api/versions/{id}/archive)

    @classmethod
    def of(cls, row: PromptVersion, *, created: bool = False) -> VersionOut:
        return cls(
            id=row.id,
            template_id=row.template_id,
            provider=row.provider,
            model_id=row.model_id,
            params=dict(row.params),
            pvk=row.pvk,
            captured=dict(row.captured),
            created=created,
            drift=row.drift,
            created_at=row.created_at,
            tools=row.tools,
            tool_choice=row.tool_choice,
            response_format=row.response_format,
            archived_at=row.archived_at,
        )


class VersionList(Struct):
    items: list[VersionOut]
