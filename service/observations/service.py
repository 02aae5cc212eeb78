"""Observations, whole: ingest a batch of calls an application made itself - each one resolved to the labelled version,
its reported identity pinned through the same `find_or_create` a run uses (a new identity in the lineage is label
drift: `drift: true` on resolve, the UI's badge, prompter_label_drift_total) - deduplicated by (tenant, id); the
per-version stats of a label; pruning by age.

Ingest holds no lock a label move or a run waits for: it reads labels without locking them, inserts observations
with ON CONFLICT DO NOTHING (only its own new rows), and creates a version only for an identity never seen before,
exactly as a run would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.principal import TenantScope
from service.db.engine import on_commit
from service.db.models import PromptVersion, utcnow
from service.errors import NotFound, PrompterError
from service.labels.drift import count_labelled_calls, identity_matches_label
from service.labels.names import check_label
from service.labels.repository import Target
from service.labels.service import LabelService
from service.observations.repository import ObservationRepository
from service.providers.base import GenerationParams
from service.providers.identity import Captured, canonical_model_id, reported_identity
from service.versions.service import VersionService
from service.vocabulary import DEFAULT_LABEL, PROVIDERS
from telemetry import Telemetry

MAX_WINDOW_S = 30 * 86400
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
_UNKNOWN = {"template_not_found": "unknown_prompt", "label_not_found": "unknown_label"}


# -- the domain commands -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReportedCall:
    """One provider call as the application saw it (from the API or an OTLP span)."""

    obs_id: str
    provider: str
    prompt: str | None = None
    label: str | None = None
    version_id: int | None = None
    model_id: str | None = None
    reported: dict[str, Any] | None = None
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    error_type: str | None = None
    trace_id: str | None = None
    span_id: str | None = None


@dataclass(frozen=True, slots=True)
class Malformed:
    """An item that is not an observation at all (failed its schema): rejected alone."""

    obs_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class IngestBatch:
    org_id: str
    workspace_id: str
    source: str  # api | otlp (contract.OBSERVATION_SOURCES)
    items: list[ReportedCall | Malformed]


@dataclass(slots=True)
class Fate:
    obs_id: str | None
    status: str
    error: str | None = None
    detail: str | None = None


@dataclass(slots=True)
class Ingested:
    fates: list[Fate] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for fate in self.fates if fate.status == status)


class Rejected(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True, slots=True)
class LabelTraffic:
    """What GET .../labels/{label}/stats answers: the label's target now and each version it served in the window."""

    name: str
    label: str
    window_s: int
    since: datetime
    version_id: int | None
    drift: bool
    reported: dict[str, Any] | None
    versions: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class StatsQuery:
    tenant: TenantScope
    name: str
    label: str
    window_s: int


# -- the service -------------------------------------------------------------------------------------------------------
class ObservationService:
    def __init__(
        self, session: AsyncSession, labels: LabelService, versions: VersionService, telemetry: Telemetry
    ) -> None:
        self.session = session
        self.repo = ObservationRepository(session)
        self.labels = labels
        self.versions = versions
        self.telemetry = telemetry

    async def ingest(self, batch: IngestBatch) -> Ingested:
        """Each item's fate, in order. One bad item never fails the batch; an id already stored (or earlier in this
        batch) is a duplicate and is neither stored nor counted again."""
        targets: dict[tuple[Any, ...], Target | Rejected] = {}
        served: dict[tuple[Any, ...], PromptVersion] = {}
        fates: list[Fate] = []
        rows: list[dict[str, Any]] = []
        pending: list[tuple[int, ReportedCall, Target, bool | None, int | None]] = []
        seen: set[str] = set()
        splits: dict[tuple[str, str], list[int] | None] = {}
        now = utcnow()
        for item in batch.items:
            if isinstance(item, Malformed):
                fates.append(Fate(item.obs_id, REJECTED, "invalid_item", item.detail))
                continue
            if item.obs_id in seen:
                fates.append(Fate(item.obs_id, DUPLICATE))
                continue
            seen.add(item.obs_id)
            try:
                target = await self._target(batch, item, targets)
                identity = self._identity(item, target)
            except Rejected as rejected:
                fates.append(Fate(item.obs_id, REJECTED, rejected.code, rejected.detail))
                continue
            version = await self._served(target, identity, served) if identity is not None else None
            matches = identity_matches_label(target.version, version) if version is not None else None
            row = self._row(batch, item, target, version, matches, now)
            row["variant"] = await self._variant(batch, item, target, splits)
            rows.append(row)
            pending.append((len(fates), item, target, matches, row["variant"]))
            fates.append(Fate(item.obs_id, ACCEPTED))
        inserted = await self.repo.insert_new(rows)
        counted = []
        for index, item, target, matches, variant in pending:
            if item.obs_id not in inserted:
                fates[index] = Fate(item.obs_id, DUPLICATE)
                continue
            provider = target.version.provider
            error = item.error_type is not None
            counted.append((_label_of(item), provider, matches, item.latency_ms, error, variant))
        count_labelled_calls(self.session, counted)
        result = Ingested(fates)
        counts = {status: result.count(status) for status in (ACCEPTED, DUPLICATE, REJECTED)}
        on_commit(
            self.session,
            lambda: self.telemetry.record_observations(
                batch.source, accepted=counts[ACCEPTED], duplicate=counts[DUPLICATE], rejected=counts[REJECTED]
            ),
        )
        return result

    async def _target(
        self, batch: IngestBatch, item: ReportedCall, cache: dict[tuple[Any, ...], Target | Rejected]
    ) -> Target:
        key = (item.prompt, item.label, item.version_id)
        if key not in cache:
            cache[key] = await self._resolve(batch, item)
        found = cache[key]
        if isinstance(found, Rejected):
            raise found
        return found

    async def _variant(
        self, batch: IngestBatch, item: ReportedCall, target: Target, cache: dict[tuple[str, str], list[int] | None]
    ) -> int | None:
        """The split arm a call used: the index of its version among the label's arms (a call that names only the
        label of a split cannot say which arm it got, so it has none)."""
        label = _label_of(item)
        if label is None or item.version_id is None:
            return None
        key = (target.template.name, label)
        if key not in cache:
            tenant = TenantScope(None, batch.org_id, batch.workspace_id)
            arms = await self.labels.split_of(target.template.name, label, tenant=tenant)
            cache[key] = [arm.version_id for arm in arms] if arms else None
        versions = cache[key]
        if versions is None or item.version_id not in versions:
            return None
        return versions.index(item.version_id)

    async def _resolve(self, batch: IngestBatch, item: ReportedCall) -> Target | Rejected:
        # With both a label and a version id, the version is the one the application really used (the label may
        # have moved since it fetched the prompt); the label is what the call is counted under.
        if item.label is not None:
            try:
                check_label(item.label)
            except PrompterError as error:
                return Rejected("unknown_label", error.detail)
        name = item.prompt
        if item.version_id is not None:
            owner = await self.repo.name_of_version(batch.org_id, batch.workspace_id, item.version_id)
            if owner is None or (name is not None and owner != name):
                return Rejected("unknown_version", f"No version {item.version_id} of this prompt in this workspace.")
            name = owner
        if name is None:
            return Rejected("unknown_prompt", "Name the prompt (`prompt`, with `label`) or its `version_id`.")
        tenant = TenantScope(None, batch.org_id, batch.workspace_id)  # the batch's tenant, already resolved
        try:
            if item.version_id is not None:
                target, _ = await self.labels.resolve(name, version_id=item.version_id, tenant=tenant)
            else:
                label = check_label(item.label or DEFAULT_LABEL)
                target, _ = await self.labels.resolve(name, label=label, tenant=tenant, pick=False)
        except PrompterError as error:
            code = _UNKNOWN.get(error.code, "unknown_label" if item.version_id is None else "unknown_version")
            return Rejected(code, error.detail)
        return target

    @staticmethod
    def _identity(item: ReportedCall, target: Target) -> Captured | None:
        pinned = target.version
        if item.provider not in PROVIDERS:
            raise Rejected("unknown_provider", f"provider must be one of {', '.join(PROVIDERS)}.")
        if item.provider != pinned.provider:
            raise Rejected(
                "provider_mismatch", f"The labelled version is pinned to {pinned.provider!r}, not {item.provider!r}."
            )
        if item.model_id is not None and canonical_model_id(item.provider, item.model_id) != pinned.model_id:
            raise Rejected(
                "model_mismatch", f"The labelled version is pinned to model {pinned.model_id!r}, not {item.model_id!r}."
            )
        if item.reported is None:
            return None  # a failed call (or one without identity fields): stats only, no drift decision
        identity = reported_identity(item.provider, item.reported)
        if identity is None:
            raise Rejected(
                "invalid_identity",
                f"`reported` holds {sorted(item.reported)}; {item.provider} reports {_fields_hint(item.provider)}.",
            )
        return identity

    async def _served(
        self, target: Target, identity: Captured, cache: dict[tuple[Any, ...], PromptVersion]
    ) -> PromptVersion:
        """The version of this identity in the labelled version's lineage: the same find-or-create a run does, so a
        new identity becomes the lineage's newest version (drift) once, however many calls report it."""
        pinned = target.version
        key = (
            target.template.id,
            pinned.provider,
            pinned.model_id,
            pinned.params_hash,
            tuple(sorted(identity.items())),
        )
        if key not in cache:
            if identity == pinned.captured:
                cache[key] = pinned
            else:
                params = GenerationParams(**pinned.params)
                version, _ = await self.versions.find_or_create(
                    target.template, pinned.provider, pinned.model_id, params, identity
                )
                cache[key] = version
        return cache[key]

    @staticmethod
    def _row(
        batch: IngestBatch,
        item: ReportedCall,
        target: Target,
        version: PromptVersion | None,
        matches: bool | None,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "org_id": batch.org_id,
            "workspace_id": batch.workspace_id,
            "obs_id": item.obs_id,
            "source": batch.source,
            "name": target.template.name,
            "label": _label_of(item),
            "label_version_id": target.version.id,
            "version_id": version.id if version is not None else None,
            "provider": target.version.provider,
            "model_id": target.version.model_id,
            "identity_matches_label": matches,
            "latency_ms": item.latency_ms,
            "input_tokens": item.input_tokens,
            "output_tokens": item.output_tokens,
            "finish_reason": item.finish_reason,
            "error_type": item.error_type,
            "trace_id": item.trace_id,
            "span_id": item.span_id,
            "received_at": now,
        }

    # -- stats -------------------------------------------------------------------------------------------------------
    async def stats(self, query: StatsQuery) -> LabelTraffic:
        """Per version served through the label within the window: runs and observations together."""
        org_id, workspace_id = query.tenant.pair()
        label = check_label(query.label)
        target: Target | None
        try:
            target, _ = await self.labels.resolve(query.name, label=label, tenant=query.tenant, pick=False)
        except NotFound as error:
            if error.code != "label_not_found":
                raise
            target = None  # a deleted label still has its recent traffic
        current_id = target.version.id if target is not None else None
        drift = target is not None and target.newest_id is not None and target.newest_id != current_id
        since = datetime.now(UTC) - timedelta(seconds=query.window_s)
        aggregates, percentiles = await self.repo.version_aggregates(org_id, workspace_id, query.name, label, since)
        captured = await self.repo.captured_of([a.version_id for a in aggregates])
        rows = []
        for a in aggregates:
            p50, p95 = percentiles.get(a.version_id, (None, None))
            rows.append(
                {
                    "version_id": a.version_id,
                    "current": current_id == a.version_id,
                    "captured": captured.get(a.version_id),
                    "calls": a.runs + a.observations,
                    "runs": a.runs,
                    "observations": a.observations,
                    "errors": a.errors,
                    "identity_mismatches": a.mismatches,
                    "latency_ms": {"avg": _round(a.latency_avg), "p50": _round(p50), "p95": _round(p95)},
                    "input_tokens": a.input_tokens,
                    "output_tokens": a.output_tokens,
                    # Hook: schema-validated prompts will count output-schema violations per version here.
                    "schema_violations": None,
                }
            )
        return LabelTraffic(
            name=query.name,
            label=label,
            window_s=query.window_s,
            since=since,
            version_id=current_id,
            drift=drift,
            reported=dict(target.newest_captured or {}) if drift and target is not None else None,
            versions=rows,
        )


async def prune_observations(session: AsyncSession, older_than: timedelta) -> int:
    """Retention: delete observations received more than `older_than` ago (`prompter observations prune`)."""
    return await ObservationRepository(session).prune(datetime.now(UTC) - older_than)


def _label_of(item: ReportedCall) -> str | None:
    """The label a call is counted under: the one named, else `production` unless it named only a version."""
    if item.label is not None:
        return item.label
    return None if item.version_id is not None else DEFAULT_LABEL


def _fields_hint(provider: str) -> str:
    from service.providers.identity import REPORTED_FIELDS

    return ", ".join(sorted(REPORTED_FIELDS[provider]))


def _round(value: float | None) -> float | None:
    return round(float(value), 3) if value is not None else None
