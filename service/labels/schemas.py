"""The JSON of labels: the resolved prompt clients poll, a label, its events, and the request bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from service.db.models import PromptLabelEvent
from service.http.schemas import TenantId, reject_nul
from service.labels.repository import Target

Reason = Annotated[str, Meta(max_length=1000, description="Why the label moved; kept in its history.")]


class LabelMove(Struct, forbid_unknown_fields=True):
    version_id: Annotated[int, Meta(ge=1, le=2**63 - 1)]
    reason: Reason | None = None
    # Required without auth; with PROMPTER_AUTH=required they come from the API key (and may only repeat it).
    org_id: TenantId | None = None
    workspace_id: TenantId | None = None

    def __post_init__(self) -> None:
        reject_nul(reason=self.reason, org_id=self.org_id, workspace_id=self.workspace_id)


class LabelRollback(Struct, forbid_unknown_fields=True):
    reason: Reason | None = None
    org_id: TenantId | None = None
    workspace_id: TenantId | None = None

    def __post_init__(self) -> None:
        reject_nul(reason=self.reason, org_id=self.org_id, workspace_id=self.workspace_id)


class LabelRun(Struct, forbid_unknown_fields=True):
    variables: dict[str, Any] = {}
    org_id: TenantId | None = None
    workspace_id: TenantId | None = None

    def __post_init__(self) -> None:
        reject_nul(org_id=self.org_id, workspace_id=self.workspace_id, variables=self.variables)


class ResolvedVersion(Struct, omit_defaults=True):
    id: int
    provider: str
    model_id: str
    params: dict[str, Any]
    captured: dict[str, Any]
    pvk: str
    # The rest of the bundle the version is pinned with (null when it has none).
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None


class ResolvedPrompt(Struct, omit_defaults=True):
    """What `GET /api/prompts/{name}` answers. Field names are a contract with prompter_client: add, never rename.

    The chat and bundle fields are left out while they hold their defaults (a text prompt without a bundle): the
    bytes, and so the ETag, of every text prompt are exactly what they were before chat prompts existed."""

    name: str
    label: str | None  # None when resolved by version_id
    template_id: int
    revision: int
    body: str
    variables: list[str]
    version: ResolvedVersion
    updated_at: datetime
    # True when a run or ensure-version has since seen another identity for this version's provider, model and
    # params than the one it was pinned to; `reported` is then that identity.
    drift: bool
    reported: dict[str, Any] | None
    # `text`: the prompt is `body`. `chat`: it is `messages` (and `body` is ""), placeholders included.
    type: str = "text"
    messages: list[dict[str, Any]] | None = None
    input_schema: dict[str, Any] | None = None

    @classmethod
    def of(cls, target: Target, label: str | None) -> ResolvedPrompt:
        version, template = target.version, target.template
        drift = target.newest_id is not None and target.newest_id != version.id
        return cls(
            name=template.name,
            label=label,
            template_id=template.id,
            revision=template.revision,
            body=template.body,
            variables=list(template.variables),
            version=ResolvedVersion(
                id=version.id,
                provider=version.provider,
                model_id=version.model_id,
                params=dict(version.params),
                captured=dict(version.captured),
                pvk=version.pvk,
                tools=version.tools,
                tool_choice=version.tool_choice,
                response_format=version.response_format,
            ),
            updated_at=target.label.updated_at if target.label is not None else version.created_at,
            drift=drift,
            reported=dict(target.newest_captured or {}) if drift else None,
            # The literal, not the row's string: omit_defaults compares by identity, and a text prompt must omit it.
            type="chat" if template.type == "chat" else "text",
            messages=template.messages,
            input_schema=template.input_schema,
        )


class LabelOut(Struct):
    name: str
    label: str
    version_id: int
    template_id: int
    revision: int
    provider: str
    model_id: str
    captured: dict[str, Any]
    protected: bool
    automatic: bool  # true only for `latest`
    drift: bool
    updated_at: datetime
    updated_by: str | None

    @classmethod
    def of(cls, target: Target, label: str, *, protected: bool) -> LabelOut:
        version, row = target.version, target.label
        return cls(
            name=target.template.name,
            label=label,
            version_id=version.id,
            template_id=target.template.id,
            revision=target.template.revision,
            provider=version.provider,
            model_id=version.model_id,
            captured=dict(version.captured),
            protected=protected,
            automatic=row is None,
            drift=target.newest_id is not None and target.newest_id != version.id,
            updated_at=row.updated_at if row is not None else version.created_at,
            updated_by=row.updated_by if row is not None else None,
        )


class LabelList(Struct):
    items: list[LabelOut]


class LabelEventOut(Struct):
    id: int
    label: str
    kind: str  # move | rollback | delete
    rollback: bool
    from_version_id: int | None
    to_version_id: int | None
    actor: str  # the API key id, or "anonymous" with auth off
    reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: PromptLabelEvent) -> LabelEventOut:
        return cls(
            id=row.id,
            label=row.label,
            kind=row.kind,
            rollback=row.kind == "rollback",
            from_version_id=row.from_version_id,
            to_version_id=row.to_version_id,
            actor=row.actor,
            reason=row.reason,
            created_at=row.created_at,
        )


class LabelEventPage(Struct):
    items: list[LabelEventOut]
    next_cursor: str | None
