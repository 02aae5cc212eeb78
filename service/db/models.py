"""The tables. The schema itself is created by Alembic migrations (service/db/migrations), never create_all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")


def is_storable_id(value: int) -> bool:
    """Ids are positive BIGINTs: anything else cannot exist, and asking the database would overflow its parameter."""
    return 0 < value < 2**63


# Constraint names are part of the schema the migrations create; keep them stable. A violation leaves a repository as
# IntegrityConflict (service/db/engine.py: insert_guarded) and its service turns it into a domain error.
UQ_TEMPLATE_IDENTITY = "uq_prompt_templates_identity"
UQ_TEMPLATE_REVISION = "uq_prompt_templates_revision"
UQ_VERSION_PVK = "uq_prompt_versions_template_pvk"
UQ_LABEL = "uq_prompt_labels_identity"
UQ_IDEMPOTENCY_KEY = "uq_idempotency_keys_scope_key"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend: SQLite stores no offset, so it is re-attached when reading."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class PromptTemplate(Base):
    __tablename__ = "prompt_templates"
    __table_args__ = (
        UniqueConstraint("org_id", "workspace_id", "name", "content_hash", name=UQ_TEMPLATE_IDENTITY),
        UniqueConstraint("org_id", "workspace_id", "name", "revision", name=UQ_TEMPLATE_REVISION),
        Index("ix_prompt_templates_tenant_id", "org_id", "workspace_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str] = mapped_column(Text)  # "" for chat templates
    variables: Mapped[list[str]] = mapped_column(JSON)
    # Migration 0007_chat_bundle: `text` (the body) or `chat` (the messages); input_schema types the variables.
    type: Mapped[str] = mapped_column(String(8), default="text", server_default="text")
    messages: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    input_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(71))
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Migration 0011_archive: an archived revision is hidden from lists and cannot be newly labelled
    # (service/archive/). archived_by is the API key id, or "anonymous" with auth off.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    archived_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PromptVersion(Base):
    __tablename__ = "prompt_versions"
    __table_args__ = (
        # pvk is a content key (identical bodies share it), so uniqueness is per template: two tenants with the same
        # prompt text must never share - or see - each other's version rows.
        UniqueConstraint("template_id", "pvk", name=UQ_VERSION_PVK),
        Index("ix_prompt_versions_lineage", "template_id", "provider", "model_id", "params_hash", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("prompt_templates.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    model_id: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    params_hash: Mapped[str] = mapped_column(String(71))
    captured: Mapped[dict[str, Any]] = mapped_column(JSON)
    pvk: Mapped[str] = mapped_column(String(71))
    drift: Mapped[bool] = mapped_column(Boolean, default=False)
    # The rest of the prompt bundle (service/versions/bundle.py), part of the pvk when set.
    tools: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    tool_choice: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    response_format: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # as on PromptTemplate
    archived_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PromptResult(Base):
    __tablename__ = "prompt_results"
    __table_args__ = (
        Index("ix_prompt_results_template_id", "template_id", "id"),
        # The UI: a prompt's last run and its 24 h activity chart (migration 0004_ui_indexes).
        Index("ix_prompt_results_template_created", "template_id", "created_at", "latency_ms"),
        Index("ix_prompt_results_deletion", "deletion_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # NULL only once the prompt was deleted (service/archive/): the result keeps every other field, and deletion_id,
    # deleted_template_id and deleted_version_id say what it belonged to. Every read of results joins the template,
    # so such a result is never returned by a template's or tenant's reads (hence the non-optional type).
    template_id: Mapped[int] = mapped_column(ForeignKey("prompt_templates.id", ondelete="SET NULL"), nullable=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="SET NULL"), nullable=True)
    pvk: Mapped[str] = mapped_column(String(71))
    provider: Mapped[str] = mapped_column(String(32))
    model_id: Mapped[str] = mapped_column(String(200))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON)
    rendered_prompt: Mapped[str] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text)
    system_fingerprint: Mapped[str | None] = mapped_column(String(200), nullable=True)
    provider_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    trace_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Set when the run went through a label (POST /api/prompts/{name}/run): which label, and whether the identity the
    # provider reported is the one the labelled version was pinned to.
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    identity_matches_label: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Chat runs: the rendered messages (rendered_prompt is "" then); any run: the tool calls the model made, the JSON
    # it returned for a response_format, and whether that JSON matched the schema (null without a response_format).
    rendered_messages: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    tool_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    structured_output: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    schema_valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Migration 0009_splits_rollouts: the arm of a split label the run used (its index in the split; null otherwise).
    variant: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Migration 0011_archive: set when the prompt was deleted, in the same transaction (see template_id).
    deletion_id: Mapped[int | None] = mapped_column(ForeignKey("prompt_deletions.id"), nullable=True)
    deleted_template_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    deleted_version_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    # `api` or `playground` (a run a person tried in the web UI); migration 0012_playground_results.
    source: Mapped[str] = mapped_column(String(16), default="api", server_default="api")


class ApiKey(Base):
    """An API key scoped to one org + workspace with a role. Only a hash of the secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PromptLabel(Base):
    """A named pointer (`production`, `staging`) from (org, workspace, template name) to one version of one revision.

    The unique constraint is also the resolve index: `GET /api/prompts/{name}?label=` is one read through it."""

    __tablename__ = "prompt_labels"
    __table_args__ = (UniqueConstraint("org_id", "workspace_id", "name", "label", name=UQ_LABEL),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(64))
    # A split label's baseline (its first arm); otherwise the one version it points at.
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    # Migration 0009_splits_rollouts: [{"version_id", "weight"}, ...] for a split label (service/labels/split.py),
    # null for a single target; `rollout` is the split's policy and its progress (service/rollouts/).
    split: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    rollout: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))


class PromptLabelEvent(Base):
    """One move, rollback or delete of a label, kept forever (the deployment history).

    Version ids carry no foreign key on purpose: the history must outlive what it points at.
    `stack_parent_id` makes rollback O(1) however long the history is: for a move or delete it is the move that was on
    top of the rollback stack before it (None at the bottom); a rollback undoes the top move T, goes back to
    T.from_version_id and copies T.stack_parent_id, so the next rollback undoes the move below T."""

    __tablename__ = "prompt_label_events"
    __table_args__ = (Index("ix_prompt_label_events_label", "org_id", "workspace_id", "name", "label", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # move | rollback | delete | split | promote | complete | abort | hold
    from_version_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    to_version_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    stack_parent_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))  # the API key id, or "anonymous" with auth off
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Migration 0009_splits_rollouts: the split the event set (null for a single target), and what else it needs
    # kept: the split it replaced (`from_split`, for rollback), a rollout decision's reason and numbers.
    split: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """The first successful answer to a request sent with an `Idempotency-Key` header, kept so a retry with the same
    key and the same request gets that answer again instead of doing the work twice (service/idempotency/).

    Written in the same transaction as the work it answers for: the row exists exactly when the work was committed."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("org_id", "workspace_id", "key", name=UQ_IDEMPOTENCY_KEY),
        Index("ix_idempotency_keys_scope_created", "org_id", "workspace_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # The tenant of the API key; "" and "" with PROMPTER_AUTH=off (one scope for the whole instance).
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(71))  # sha256 of method, path, query and canonical JSON body
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UISession(Base):
    """A login to the web UI: the browser's cookie holds a random token, this row holds only its SHA-256, so neither
    the cookie nor a copy of the database carries an API key. Logout deletes the row; revoking the key ends it too
    (the key is checked on every request). Kept in the database so that every replica knows every session."""

    __tablename__ = "ui_sessions"
    __table_args__ = (Index("ix_ui_sessions_expires_at", "expires_at"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.key_id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


UQ_OBSERVATION_ID = "uq_observations_tenant_obs_id"


class Observation(Base):
    """One provider call an application made itself and reported (POST /api/observations or OTLP spans), kept
    compactly: no prompt or output text, only what drift and the per-version stats need (service/observations/).

    Version ids carry no foreign key on purpose: ingest must never lock version rows a label move or a run touches,
    and a pruned or deleted version leaves its observations readable. Old rows are pruned
    (`prompter observations prune`, PROMPTER_OBSERVATIONS_RETENTION_DAYS)."""

    __tablename__ = "observations"
    __table_args__ = (
        # Deduplication: a retried batch (the same client `id`s) is stored and counted once.
        UniqueConstraint("org_id", "workspace_id", "obs_id", name=UQ_OBSERVATION_ID),
        # Per-label stats over a time window (GET /api/prompts/{name}/labels/{label}/stats).
        Index("ix_observations_label_received", "org_id", "workspace_id", "name", "label", "received_at"),
        # Pruning by age.
        Index("ix_observations_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    obs_id: Mapped[str] = mapped_column(String(128))  # the client's id (or trace id + span id for OTLP)
    source: Mapped[str] = mapped_column(String(8))  # api | otlp
    name: Mapped[str] = mapped_column(String(200))
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    label_version_id: Mapped[int] = mapped_column(Id)  # the version the label (or version_id) resolved to
    version_id: Mapped[int | None] = mapped_column(Id, nullable=True)  # the version of the reported identity
    provider: Mapped[str] = mapped_column(String(32))
    model_id: Mapped[str] = mapped_column(String(200))
    identity_matches_label: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    input_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    finish_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trace_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    span_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    variant: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)  # the split arm (0009_splits_rollouts)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


UQ_PROMPT_NAME = "uq_prompt_names_identity"


class PromptName(Base):
    """The state of a prompt name as a whole (its revisions live in prompt_templates). A row exists once the name was
    archived; unarchiving clears archived_at and keeps the row. Deleting the name removes it."""

    __tablename__ = "prompt_names"
    __table_args__ = (UniqueConstraint("org_id", "workspace_id", "name", name=UQ_PROMPT_NAME),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    archived_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PromptDeletion(Base):
    """The record of a deleted prompt name, kept forever: who, when, why, and what went (revisions with their versions
    in `removed`). The results of the deleted revisions stay in prompt_results and point here (deletion_id)."""

    __tablename__ = "prompt_deletions"
    __table_args__ = (Index("ix_prompt_deletions_tenant", "org_id", "workspace_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # [{"template_id", "revision", "content_hash", "versions": [{"id", "provider", "model_id", "pvk"}]}]
    removed: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    labels: Mapped[list[str]] = mapped_column(JSON)  # the labels the name had, each also recorded as a label delete
    results_kept: Mapped[int] = mapped_column(Integer)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookSubject(Base):
    """The per-subject ordering key of the outbox: one row per (tenant, subject) whose `last_seq` is bumped, under the
    row's lock, by every event of that subject. The lock is held until the change commits, so per subject the
    sequence numbers are committed in the order they were handed out (ids from a sequence are not)."""

    __tablename__ = "webhook_subjects"

    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class WebhookEvent(Base):
    """The transactional outbox: one row per event, written in the same transaction as the change it describes
    (service/webhooks/outbox.py). The delivery worker fans each one out to the matching endpoints once."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_pending", "fanned_out", "id"),
        Index("ix_webhook_events_subject", "org_id", "workspace_id", "subject", "seq"),
        Index("ix_webhook_events_created", "created_at"),  # retention (service/webhooks/claims.py: prune)
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)  # the Standard Webhooks `webhook-id`: msg_<hex>
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))  # `prompt:<name>` or `webhook_endpoint:<id>`
    seq: Mapped[int] = mapped_column(BigInteger)  # the order of the subject's events (WebhookSubject)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    traceparent: Mapped[str | None] = mapped_column(String(64), nullable=True)  # W3C trace context of the change
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(Base):
    """A receiver of a workspace's events. `event_types` empty = every type. The secret is the Standard Webhooks
    `whsec_<base64>` key: it must be kept to sign, so it is stored as is and shown only once, at creation."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_tenant", "org_id", "workspace_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event to one endpoint: its attempts so far and the outcome of the latest (the endpoint's delivery log).

    `status`: pending (waiting, or leased by a worker until `lease_until`), succeeded, failed (gave up after the retry
    window). `subject`/`seq` are the event's, copied so the claim can keep each subject's deliveries in order."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "subject", "seq"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_event", "event_id"),  # an event's deliveries (retention)
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300))
    seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
