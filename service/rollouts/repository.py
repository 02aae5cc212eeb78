"""SQL for rollouts: each arm's numbers since a step began (runs through the label and observations together), and
the one-replica-at-a-time lock of the rollout worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Observation, PromptResult, PromptTemplate
from service.labels.policy import ArmNumbers

# pg_try_advisory_xact_lock key of the rollout worker: the replica that holds it analyses every rollout this tick.
WORKER_LOCK_KEY = "prompter_rollout_worker"


class RolloutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_worker_lock(self) -> bool:
        """PostgreSQL: True when this transaction now holds the worker lock (released at its end), False when another
        replica's tick holds it. SQLite: one process serves the file; its in-process worker always acts."""
        if self.session.get_bind().dialect.name != "postgresql":
            return True
        attempt = select(func.pg_try_advisory_xact_lock(func.hashtextextended(WORKER_LOCK_KEY, 0)))
        return bool(await self.session.scalar(attempt))

    async def arm_numbers(
        self, org_id: str, workspace_id: str, name: str, label: str, since: datetime
    ) -> dict[int, ArmNumbers]:
        calls = self._calls(org_id, workspace_id, name, label, since).subquery("calls")
        totals = select(
            calls.c.variant,
            func.count(),
            func.sum(calls.c.is_error),
            func.sum(calls.c.is_violation),
            func.sum(calls.c.is_mismatch),
        ).group_by(calls.c.variant)
        rows = (await self.session.execute(totals)).all()
        # p95 by nearest rank (rank ceil(0.95 n)), window functions on both backends.
        timed = select(calls.c.variant, calls.c.latency_ms).where(calls.c.latency_ms.is_not(None)).subquery()
        ranked = select(
            timed.c.variant,
            timed.c.latency_ms,
            func.row_number().over(partition_by=timed.c.variant, order_by=timed.c.latency_ms).label("rank"),
            func.count().over(partition_by=timed.c.variant).label("n"),
        ).subquery()
        p95 = select(ranked.c.variant, ranked.c.latency_ms).where(ranked.c.rank == (ranked.c.n * 95 + 99) // 100)
        p95s = {int(variant): float(latency) for variant, latency in (await self.session.execute(p95)).all()}
        return {
            int(variant): ArmNumbers(
                calls=int(count),
                errors=int(errors or 0),
                p95_ms=p95s.get(int(variant)),
                schema_violations=int(violations or 0),
                identity_mismatches=int(mismatches or 0),
            )
            for variant, count, errors, violations, mismatches in rows
        }

    @staticmethod
    def _calls(org_id: str, workspace_id: str, name: str, label: str, since: datetime) -> Any:
        runs = (
            select(
                PromptResult.variant.label("variant"),
                literal(0).label("is_error"),
                case((PromptResult.schema_valid.is_(False), 1), else_=0).label("is_violation"),
                case((PromptResult.identity_matches_label.is_(False), 1), else_=0).label("is_mismatch"),
                PromptResult.latency_ms.label("latency_ms"),
            )
            .join(PromptTemplate, PromptTemplate.id == PromptResult.template_id)
            .where(
                PromptTemplate.org_id == org_id,
                PromptTemplate.workspace_id == workspace_id,
                PromptTemplate.name == name,
                PromptResult.label == label,
                PromptResult.variant.is_not(None),
                PromptResult.source == "api",  # playground runs are a person trying it, not the label's traffic
                PromptResult.created_at >= since,
            )
        )
        observed = select(
            Observation.variant.label("variant"),
            case((Observation.error_type.is_not(None), 1), else_=0).label("is_error"),
            literal(0).label("is_violation"),
            case((Observation.identity_matches_label.is_(False), 1), else_=0).label("is_mismatch"),
            Observation.latency_ms.label("latency_ms"),
        ).where(
            Observation.org_id == org_id,
            Observation.workspace_id == workspace_id,
            Observation.name == name,
            Observation.label == label,
            Observation.variant.is_not(None),
            Observation.received_at >= since,
        )
        return union_all(runs, observed)
