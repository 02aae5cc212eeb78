"""SQL for prompt_results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from service.db.models import PromptResult, PromptTemplate, UTCDateTime
from service.db.sql_functions import hours_since


class ResultRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, result: PromptResult) -> PromptResult:
        self.session.add(result)
        await self.session.flush()
        return result

    async def get(self, result_id: int, tenant: tuple[str, str] | None = None) -> PromptResult | None:
        """One statement either way: with a tenant, another tenant's result is filtered out by the same query that
        finds none for a missing id, so the two cost the same (no existence leak through timing)."""
        if tenant is None:
            result = await self.session.get(PromptResult, result_id)
            # A deleted prompt's result (template_id NULL, service/archive/) stays in the database, not in the API.
            return result if result is not None and result.template_id is not None else None
        query = (
            select(PromptResult)
            .join(PromptTemplate, PromptTemplate.id == PromptResult.template_id)
            .where(PromptResult.id == result_id, PromptTemplate.org_id == tenant[0])
            .where(PromptTemplate.workspace_id == tenant[1])
        )
        return await self.session.scalar(query)

    async def list_for_template(self, template_id: int, *, before_id: int | None, limit: int) -> list[PromptResult]:
        query = (
            select(PromptResult)
            .where(PromptResult.template_id == template_id)
            .order_by(PromptResult.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(PromptResult.id < before_id)
        return list(await self.session.scalars(query))

    async def list_recent(
        self,
        *,
        org_id: str | None,
        workspace_id: str | None,
        template_ids: list[int] | None,
        before_id: int | None,
        limit: int,
        label: str | None = None,
    ) -> list[ResultSummary]:
        """Newest results of a workspace (or of some templates), without the big text columns."""
        query = (
            select(
                PromptResult.id,
                PromptResult.template_id,
                PromptTemplate.name,
                PromptTemplate.revision,
                PromptResult.provider,
                PromptResult.model_id,
                PromptResult.system_fingerprint,
                PromptResult.input_tokens,
                PromptResult.output_tokens,
                PromptResult.latency_ms,
                PromptResult.created_at,
                PromptResult.label,
                PromptResult.identity_matches_label,
                PromptResult.source,
            )
            .join(PromptTemplate, PromptTemplate.id == self._template_id_for_join())
            .order_by(PromptResult.id.desc())
            .limit(limit)
        )
        if org_id is not None:
            query = query.where(PromptTemplate.org_id == org_id)
        if workspace_id is not None:
            query = query.where(PromptTemplate.workspace_id == workspace_id)
        if template_ids is not None:
            query = query.where(PromptResult.template_id.in_(template_ids))
        if label is not None:
            query = query.where(PromptResult.label == label)
        if before_id is not None:
            query = query.where(PromptResult.id < before_id)
        return [ResultSummary(*row) for row in await self.session.execute(query)]

    def _template_id_for_join(self) -> ColumnElement[int] | InstrumentedAttribute[int]:
        """SQLite has no statistics here, so for a workspace's newest results it starts from the workspace's templates,
        reads every one of their results through the template index and sorts them all (100 000 rows: 30 ms+). With
        the index made unusable for the join (`template_id + 0`) it walks results newest first by rowid and stops at
        the page size, looking each template up by primary key. PostgreSQL's planner has statistics and is left alone.
        """
        if self.session.get_bind().dialect.name == "sqlite":
            return PromptResult.template_id + 0
        return PromptResult.template_id

    async def hourly_activity(
        self, template_ids: list[int], since: datetime
    ) -> tuple[dict[int, int], dict[int, float]]:
        """Runs per whole hour since `since` (hour 0 = the first) and each such hour's nearest-rank p95 latency, both
        computed in the database from the covering index (template_id, created_at, latency_ms): a prompt with 10 000
        runs a day sends 24 pairs of numbers to Python, not 10 000 rows.

        PostgreSQL: count and percentile_disc(0.95) per hour in one grouped scan. SQLite has no percentile function:
        the counts first, then one scalar subquery per hour that picks the value at the rank."""
        hour = hours_since(PromptResult.created_at, literal(since, UTCDateTime))
        window = (PromptResult.template_id.in_(template_ids), PromptResult.created_at >= since)
        if self.session.get_bind().dialect.name == "postgresql":
            query = (
                select(hour, func.count(), func.percentile_disc(0.95).within_group(PromptResult.latency_ms))
                .where(*window)
                .group_by(hour)
            )
            rows = (await self.session.execute(query)).all()
            return {int(h): count for h, count, _ in rows}, {int(h): p95 for h, _, p95 in rows}
        counts = {
            int(h): count
            for h, count in await self.session.execute(select(hour, func.count()).where(*window).group_by(hour))
        }
        return counts, await self._ranked_p95(template_ids, since, counts)

    async def _ranked_p95(self, template_ids: list[int], since: datetime, counts: dict[int, int]) -> dict[int, float]:
        hours = sorted(h for h, count in counts.items() if count > 0)
        if not hours:
            return {}
        columns = []
        for h in hours:
            begins = since + timedelta(hours=h)
            # The ceil(0.95 n)-th fastest is, counted from the slowest, at offset n - ceil(0.95 n).
            offset = counts[h] - math.ceil(0.95 * counts[h])
            columns.append(
                select(PromptResult.latency_ms)
                .where(
                    PromptResult.template_id.in_(template_ids),
                    PromptResult.created_at >= literal(begins, UTCDateTime),
                    PromptResult.created_at < literal(begins + timedelta(hours=1), UTCDateTime),
                )
                .order_by(PromptResult.latency_ms.desc())
                .limit(1)
                .offset(offset)
                .scalar_subquery()
                .label(f"h{h}")
            )
        row = (await self.session.execute(select(*columns))).one()
        return {h: value for h, value in zip(hours, row, strict=True) if value is not None}


@dataclass(frozen=True, slots=True)
class ResultSummary:
    """One row of the UI's results list: no prompt or output text."""

    id: int
    template_id: int
    name: str
    revision: int
    provider: str
    model_id: str
    system_fingerprint: str | None
    input_tokens: int
    output_tokens: int
    latency_ms: float
    created_at: datetime
    label: str | None
    identity_matches_label: bool | None
    source: str = "api"
