"""The JSON of observations: a batch and each item's fate, the per-version stats of a label."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from service.http.schemas import TenantId, reject_nul

Hex32 = Annotated[str, Meta(pattern="^[0-9a-f]{32}$", description="W3C trace id, 32 lowercase hex digits.")]
Hex16 = Annotated[str, Meta(pattern="^[0-9a-f]{16}$", description="W3C span id, 16 lowercase hex digits.")]
Count = Annotated[int, Meta(ge=0, le=2**31 - 1)]


class Usage(Struct, forbid_unknown_fields=True):
    input_tokens: Count | None = None
    output_tokens: Count | None = None


class ObservationItem(Struct, forbid_unknown_fields=True):
    """One provider call as the application saw it. No prompt or output text: only what drift and the stats need."""

    id: Annotated[str, Meta(min_length=1, max_length=128, description="Unique per call: a retry counts once.")]
    provider: Annotated[str, Meta(min_length=1, max_length=64)]
    prompt: Annotated[str, Meta(min_length=1, max_length=200, description="The prompt name.")] | None = None
    label: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    version_id: Annotated[int, Meta(ge=1, le=2**63 - 1)] | None = None
    model_id: Annotated[str, Meta(min_length=1, max_length=200, description="The model requested.")] | None = None
    reported: (
        Annotated[
            dict[str, str | None],
            Meta(description="The identity the provider reported: the fields a version's `captured` holds."),
        ]
        | None
    ) = None
    latency_ms: Annotated[float, Meta(ge=0, le=86_400_000)] | None = None
    usage: Usage | None = None
    finish_reason: Annotated[str, Meta(max_length=32)] | None = None
    error: Annotated[str, Meta(min_length=1, max_length=64, description="Error type, if the call failed.")] | None = (
        None
    )
    trace_id: Hex32 | None = None
    span_id: Hex16 | None = None

    def __post_init__(self) -> None:
        reject_nul(
            id=self.id,
            prompt=self.prompt,
            model_id=self.model_id,
            reported=self.reported,
            finish_reason=self.finish_reason,
            error=self.error,
        )


class ObservationBatch(Struct, forbid_unknown_fields=True):
    # Items are checked one by one (ObservationItem): a malformed item is rejected alone, never the batch.
    items: Annotated[list[Any], Meta(description="ObservationItem objects (PROMPTER_OBSERVATIONS_MAX_ITEMS at most).")]
    org_id: TenantId | None = None
    workspace_id: TenantId | None = None

    def __post_init__(self) -> None:
        reject_nul(org_id=self.org_id, workspace_id=self.workspace_id)


class ItemFate(Struct, omit_defaults=True):
    id: str | None
    status: str  # accepted | duplicate | rejected
    error: str | None = None
    detail: str | None = None


class IngestResult(Struct):
    accepted: int
    duplicate: int
    rejected: int
    items: list[ItemFate]


class LatencyStats(Struct):
    avg: float | None
    p50: float | None
    p95: float | None


class VersionStats(Struct):
    version_id: int
    current: bool  # the version the label points at now
    captured: dict[str, Any] | None
    calls: int
    runs: int
    observations: int
    errors: int
    identity_mismatches: int  # calls whose reported identity differed from the labelled version's
    latency_ms: LatencyStats
    input_tokens: int
    output_tokens: int
    # Reserved for schema-validated (chat) prompts: violations of the output schema per version. Always null today.
    schema_violations: int | None = None


class LabelStats(Struct):
    name: str
    label: str
    window_s: int
    since: datetime
    version_id: int | None  # the label's current target, if the label exists
    drift: bool
    reported: dict[str, Any] | None
    versions: list[VersionStats]
