"""SQL for observations: the deduplicating batch insert, the per-version stats of a label, pruning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Observation, PromptResult, PromptTemplate, PromptVersion

PRUNE_CHUNK = 10_000
_KEY = ["org_id", "workspace_id", "obs_id"]
_TABLE = Observation.__table__
_INSERT: dict[str, Any] = {postgresql.__name__: None, sqlite.__name__: None}


@dataclass(frozen=True, slots=True)
class VersionAggregate:
    version_id: int
    runs: int
    observations: int
    errors: int
    mismatches: int
    latency_avg: float | None
    input_tokens: int
    output_tokens: int


class ObservationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def name_of_version(self, org_id: str, workspace_id: str, version_id: int) -> str | None:
        """The prompt name of a version of this tenant (an observation may name only the version)."""
        query = (
            select(PromptTemplate.name)
            .join(PromptVersion, PromptVersion.template_id == PromptTemplate.id)
            .where(
                PromptVersion.id == version_id,
                PromptTemplate.org_id == org_id,
                PromptTemplate.workspace_id == workspace_id,
            )
        )
        return await self.session.scalar(query)

    async def insert_new(self, rows: list[dict[str, Any]]) -> set[str]:
        """Insert the rows whose (tenant, obs_id) is not stored yet; the obs_ids inserted. ON CONFLICT DO NOTHING:
        a concurrent batch with the same ids inserts each once and neither fails nor waits on a lock it holds
        longer than its own insert. One cached statement run with many parameter sets (SQLAlchemy batches them into
        multi-row INSERTs itself): a 100-row VALUES statement built per request would be compiled per request."""
        if not rows:
            return set()
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        statement = _INSERT[dialect.__name__]
        if statement is None:
            statement = dialect.insert(_TABLE).on_conflict_do_nothing(index_elements=_KEY).returning(_TABLE.c.obs_id)
            _INSERT[dialect.__name__] = statement
        return set((await self.session.execute(statement, rows)).scalars())

    async def version_aggregates(
        self, org_id: str, workspace_id: str, name: str, label: str, since: datetime
    ) -> tuple[list[VersionAggregate], dict[int, tuple[float | None, float | None]]]:
        """Per served version, runs through the label and observations of it since `since`: counts, errors, identity
        mismatches, mean latency and tokens; and the nearest-rank p50 / p95 latency per version."""
        calls = self._calls(org_id, workspace_id, name, label, since).subquery("calls")
        totals = (
            select(
                calls.c.version_id,
                func.sum(calls.c.is_run),
                func.count() - func.sum(calls.c.is_run),
                func.sum(calls.c.is_error),
                func.sum(calls.c.is_mismatch),
                func.avg(calls.c.latency_ms),
                func.coalesce(func.sum(calls.c.input_tokens), 0),
                func.coalesce(func.sum(calls.c.output_tokens), 0),
            )
            .group_by(calls.c.version_id)
            .order_by(calls.c.version_id.desc())
        )
        aggregates = [
            VersionAggregate(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5], int(r[6]), int(r[7]))
            for r in (await self.session.execute(totals)).all()
        ]
        # Nearest rank with window functions (PostgreSQL and SQLite alike): the value at rank ceil(q * n).
        timed = select(calls.c.version_id, calls.c.latency_ms).where(calls.c.latency_ms.is_not(None)).subquery()
        ranked = select(
            timed.c.version_id,
            timed.c.latency_ms,
            func.row_number().over(partition_by=timed.c.version_id, order_by=timed.c.latency_ms).label("rank"),
            func.count().over(partition_by=timed.c.version_id).label("n"),
        ).subquery()
        # Integer division on both backends: ceil(q * n) = (100q * n + 99) / 100, at least 1 since n >= 1.
        p50_rank = (ranked.c.n * 50 + 99) // 100
        p95_rank = (ranked.c.n * 95 + 99) // 100
        picks = select(ranked.c.version_id, ranked.c.latency_ms, ranked.c.rank == p50_rank, ranked.c.rank == p95_rank)
        picks = picks.where((ranked.c.rank == p50_rank) | (ranked.c.rank == p95_rank))
        percentiles: dict[int, tuple[float | None, float | None]] = {}
        for version_id, latency, is_p50, is_p95 in (await self.session.execute(picks)).all():
            p50, p95 = percentiles.get(int(version_id), (None, None))
            percentiles[int(version_id)] = (latency if is_p50 else p50, latency if is_p95 else p95)
        return aggregates, percentiles

    @staticmethod
    def _calls(org_id: str, workspace_id: str, name: str, label: str, since: datetime) -> Any:
        runs = (
            select(
                PromptResult.version_id.label("version_id"),
                literal(1).label("is_run"),
                literal(0).label("is_error"),
                case((PromptResult.identity_matches_label.is_(False), 1), else_=0).label("is_mismatch"),
                PromptResult.latency_ms.label("latency_ms"),
                PromptResult.input_tokens.label("input_tokens"),
                PromptResult.output_tokens.label("output_tokens"),
            )
            .join(PromptTemplate, PromptTemplate.id == PromptResult.template_id)
            .where(
                PromptTemplate.org_id == org_id,
                PromptTemplate.workspace_id == workspace_id,
                PromptTemplate.name == name,
                PromptResult.label == label,
                PromptResult.created_at >= since,
            )
        )
        observed = select(
            func.coalesce(Observation.version_id, Observation.label_version_id).label("version_id"),
            literal(0).label("is_run"),
            case((Observation.error_type.is_not(None), 1), else_=0).label("is_error"),
            case((Observation.identity_matches_label.is_(False), 1), else_=0).label("is_mismatch"),
            Observation.latency_ms.label("latency_ms"),
            Observation.input_tokens.label("input_tokens"),
            Observation.output_tokens.label("output_tokens"),
        ).where(
            and_(
                Observation.org_id == org_id,
                Observation.workspace_id == workspace_id,
                Observation.name == name,
                Observation.label == label,
                Observation.received_at >= since,
            )
        )
        return union_all(runs, observed)

    async def captured_of(self, version_ids: list[int]) -> dict[int, dict[str, Any]]:
        if not version_ids:
            return {}
        query = select(PromptVersion.id, PromptVersion.captured).where(PromptVersion.id.in_(version_ids))
        return {int(row[0]): dict(row[1]) for row in (await self.session.execute(query)).all()}

    async def prune(self, before: datetime) -> int:
        """Delete observations received before `before`, in chunks (short transactions' worth of rows each)."""
        deleted = 0
        while True:
            ids = select(Observation.id).where(Observation.received_at < before).limit(PRUNE_CHUNK)
            result = await self.session.execute(delete(Observation).where(Observation.id.in_(ids.scalar_subquery())))
            deleted += result.rowcount or 0  # type: ignore[attr-defined]
            if (result.rowcount or 0) < PRUNE_CHUNK:  # type: ignore[attr-defined]
                return deleted
