"""The JSON of labels: the resolved prompt clients poll, a label, its events, and the request bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct, structs

from service.db.models import PromptLabelEvent
from service.http.schemas import TenantId, reject_nul
from service.labels.policy import Policy
from service.labels.repository import Target
from service.labels.split import Arm

Reason = Annotated[str, Meta(max_length=1000, description="Why the label moved; kept in its history.")]


VersionId = Annotated[int, Meta(ge=1, le=2**63 - 1)]


class SplitArmIn(Struct, forbid_unknown_fields=True):
    version_id: VersionId
    weight: Annotated[int, Meta(ge=1, le=100, description="Integer percent; the arms' weights sum to 100.")]


class PolicyIn(Struct, forbid_unknown_fields=True):
    """A rollout policy for a two-arm split (baseline, canary): see docs/how-to/rollouts.md."""

    steps: Annotated[list[Annotated[int, Meta(ge=1, le=100)]], Meta(min_length=1, max_length=10)] = msgspec.field(
        default_factory=lambda: [10, 50, 100]
    )
    min_calls: Annotated[int, Meta(ge=1, le=10_000_000)] = 20
    min_seconds: Annotated[float, Meta(ge=0, le=30 * 86400)] = 60.0
    interval_s: Annotated[float, Meta(gt=0, le=86400)] = 30.0
    max_error_rate_delta: Annotated[float, Meta(ge=0, le=1)] = 0.05
    max_p95_ratio: Annotated[float, Meta(ge=1, le=1000)] | None = 1.5
    min_p95_delta_ms: Annotated[float, Meta(ge=0, le=3_600_000)] = 50.0
    max_schema_violation_delta: Annotated[float, Meta(ge=0, le=1)] = 0.0
    hold_on_identity_drift: bool = True

    def command(self) -> Policy:
        return Policy(**{**structs.asdict(self), "steps": tuple(self.steps)})


class LabelMove(Struct, forbid_unknown_fields=True):
    """Either `version_id` (one target) or `split` (weighted arms, the first is the baseline), optionally with a
    rollout `policy` for a two-arm split."""

    version_id: VersionId | None = None
    split: Annotated[list[SplitArmIn], Meta(min_length=1, max_length=5)] | None = None
    policy: PolicyIn | None = None
    reason: Reason | None = None
    # Required without auth; with PROMPTER_AUTH=required they come from the API key (and may only repeat it).
    org_id: TenantId | None = None
    workspace_id: TenantId | None = None

    def __post_init__(self) -> None:
        reject_nul(reason=self.reason, org_id=self.org_id, workspace_id=self.workspace_id)

    def arms(self) -> list[Arm] | None:
        return [Arm(arm.version_id, arm.weight) for arm in self.split] if self.split is not None else None


class LabelRollback(Struct, forbid_unknown_fields=True):
    reason: Reason | None = None
    org_id: TenantId | None = None
    workspace_id: TenantId | None = None

    def __post_init__(self) -> None:
        reject_nul(reason=self.reason, org_id=self.org_id, workspace_id=self.workspace_id)


class LabelRun(Struct, forbid_unknown_fields=True):
    variables: dict[str, Any] = {}
    # A split label's sticky key (user or session id): the run uses the arm this key gets.
    key: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    org_id: TenantId | None = None
    workspace_id: TenantId | None = None

    def __post_init__(self) -> None:
        reject_nul(org_id=self.org_id, workspace_id=self.workspace_id, variables=self.variables, key=self.key)


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


class SplitArmOut(Struct):
    """One arm of a split label, whole: a client picks among them locally with the documented hash."""

    variant: int
    weight: int
    version_id: int
    template_id: int
    revision: int
    body: str
    variables: list[str]
    version: ResolvedVersion
    type: str
    messages: list[dict[str, Any]] | None
    input_schema: dict[str, Any] | None


def _resolved_version(version: Any) -> ResolvedVersion:
    return ResolvedVersion(
        id=version.id,
        provider=version.provider,
        model_id=version.model_id,
        params=dict(version.params),
        captured=dict(version.captured),
        pvk=version.pvk,
        tools=version.tools,
        tool_choice=version.tool_choice,
        response_format=version.response_format,
    )


def split_arms_of(target: Target) -> list[SplitArmOut] | None:
    if target.arms is None or target.label is None or not target.label.split:
        return None
    return [
        SplitArmOut(
            variant=index,
            weight=int(stored["weight"]),
            version_id=arm.version.id,
            template_id=arm.template.id,
            revision=arm.template.revision,
            body=arm.template.body,
            variables=list(arm.template.variables),
            version=_resolved_version(arm.version),
            type="chat" if arm.template.type == "chat" else "text",
            messages=arm.template.messages,
            input_schema=arm.template.input_schema,
        )
        for index, (arm, stored) in enumerate(zip(target.arms, target.label.split, strict=True))
    ]


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
    # A split label: the arm served (`version` is its version; `variant` its index) and every arm of the split.
    variant: int | None = None
    split: list[SplitArmOut] | None = None

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
            version=_resolved_version(version),
            updated_at=target.label.updated_at if target.label is not None else version.created_at,
            drift=drift,
            reported=dict(target.newest_captured or {}) if drift else None,
            # The literal, not the row's string: omit_defaults compares by identity, and a text prompt must omit it.
            type="chat" if template.type == "chat" else "text",
            messages=template.messages,
            input_schema=template.input_schema,
            variant=target.variant,
            split=split_arms_of(target),
        )

    def etag_basis(self, target: Target) -> ResolvedPrompt:
        """What the ETag of a split label hashes: the answer as for the baseline arm, the same for every caller key,
        so a client's cached split stays valid (304) whichever arm it picks locally."""
        if self.split is None or target.arms is None:
            return self
        baseline = target.arms[0]
        return ResolvedPrompt.of(
            Target(
                baseline.version,
                baseline.template,
                target.label,
                baseline.newest_id,
                baseline.newest_captured,
                0,
                target.arms,
            ),
            self.label,
        )


class SplitArm(Struct):
    version_id: int
    weight: int


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
    # A split label's arms (baseline first; `version_id` above is the baseline), null for one target.
    split: list[SplitArm] | None = None

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
            split=[SplitArm(int(a["version_id"]), int(a["weight"])) for a in row.split] if row and row.split else None,
        )


class LabelList(Struct):
    items: list[LabelOut]


class LabelEventOut(Struct):
    id: int
    label: str
    kind: str  # move | rollback | delete | split | promote | complete | abort | hold
    rollback: bool
    from_version_id: int | None
    to_version_id: int | None
    actor: str  # the API key id, or "anonymous" with auth off
    reason: str | None
    created_at: datetime
    # The split the event set (null for one target); a rollout decision's reason and numbers, the split replaced.
    split: list[SplitArm] | None = None
    details: dict[str, Any] | None = None

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
            split=[SplitArm(int(a["version_id"]), int(a["weight"])) for a in row.split] if row.split else None,
            details=row.details,
        )


class LabelEventPage(Struct):
    items: list[LabelEventOut]
    next_cursor: str | None
