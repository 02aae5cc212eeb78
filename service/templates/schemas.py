from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from service.db.models import PromptTemplate
from service.http.schemas import TenantId, reject_nul
from service.templates.names import NAME_PATTERN, NAME_RULE
from service.templates.service import TemplateDraft

MESSAGES_DOC = (
    "Chat templates only: role-tagged messages `{role: system|developer|user|assistant, content}` with {{ variable }} "
    "placeholders, and placeholder messages `{type: placeholder, name}` that a run fills with a list of messages."
)
MESSAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["message", "placeholder"]},
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant"]},
        "content": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
    },
}
Messages = Annotated[list[dict[str, Any]], Meta(description=MESSAGES_DOC, extra_json_schema={"items": MESSAGE_SCHEMA})]
InputSchema = Annotated[
    dict[str, Any],
    Meta(description="JSON Schema (Draft 2020-12) of the variables: types, enums, required (422 invalid_variables)."),
]


class TemplateCreate(Struct, forbid_unknown_fields=True):
    # The name rule is the service's (400 invalid_name, templates/names.py); the document states it as a pattern.
    name: Annotated[
        str, Meta(min_length=1, max_length=200, description=NAME_RULE, extra_json_schema={"pattern": NAME_PATTERN})
    ]
    body: (
        Annotated[str, Meta(min_length=1, description="Text templates: prompt text with {{ variable }} placeholders.")]
        | None
    ) = None
    type: Literal["text", "chat"] = "text"
    messages: Messages | None = None
    input_schema: InputSchema | None = None
    # Required without auth; with PROMPTER_AUTH=required they come from the API key (and may only repeat it).
    org_id: TenantId | None = None
    workspace_id: TenantId | None = None
    description: Annotated[str, Meta(max_length=2000)] | None = None

    def __post_init__(self) -> None:
        reject_nul(
            org_id=self.org_id,
            workspace_id=self.workspace_id,
            name=self.name,
            body=self.body,
            description=self.description,
            messages=self.messages,
            input_schema=self.input_schema,
        )

    def draft(self) -> TemplateDraft:
        return TemplateDraft(
            self.name,
            self.body,
            self.description,
            self.type,
            self.messages,
            self.input_schema,
        )


class TemplateOut(Struct):
    id: int
    org_id: str
    workspace_id: str
    name: str
    description: str | None
    body: str  # "" for chat templates
    variables: list[str]
    content_hash: str
    revision: int
    created_at: datetime
    type: str = "text"
    messages: list[dict[str, Any]] | None = None
    input_schema: dict[str, Any] | None = None
    archived_at: datetime | None = None  # set while the revision is archived (POST .../archive)

    @classmethod
    def of(cls, row: PromptTemplate) -> TemplateOut:
        return cls(
            id=row.id,
            org_id=row.org_id,
            workspace_id=row.workspace_id,
            name=row.name,
            description=row.description,
            body=row.body,
            variables=list(row.variables),
            content_hash=row.content_hash,
            revision=row.revision,
            created_at=row.created_at,
            type=row.type or "text",
            messages=row.messages,
            input_schema=row.input_schema,
            archived_at=row.archived_at,
        )


class TemplatePage(Struct):
    items: list[TemplateOut]
    next_cursor: str | None
