from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from service.db.models import PromptTemplate
from service.http.schemas import TenantId, reject_nul
from service.templates.service import TemplateDraft
from service.templates.names import NAME_PATTERN, NAME_RULE


class TemplateCreate(Struct, forbid_unknown_fields=True):
    # The name rule is the service's (400 invalid_name, templates/names.py); the document states it as a pattern.
    name: Annotated[
        str, Meta(min_length=1, max_length=200, description=NAME_RULE, extra_json_schema={"pattern": NAME_PATTERN})
    ]
    body: Annotated[str, Meta(min_length=1, description="Prompt text with {{ variable }} placeholders.")]
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
        )

    def draft(self) -> TemplateDraft:
        return TemplateDraft(self.name, self.body, self.description)


class TemplateOut(Struct):
    id: int
    org_id: str
    workspace_id: str
    name: str
    description: str | None
    body: str
    variables: list[str]
    content_hash: str
    revision: int
    created_at: datetime

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
        )


class TemplatePage(Struct):
    items: list[TemplateOut]
    next_cursor: str | None
