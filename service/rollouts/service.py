"""Rollouts, whole: analyse a split label's running rollout and act on the decision (service/labels/policy.py), and
show a rollout's state. The worker (service/rollouts/worker.py) calls `analyse_due` every tick; every decision it acts
on is a label history row (LabelService: promote and complete through `set_split`, abort and hold through `annotate`,
the abort's roll back through `rollback`), with the reason and the numbers in its `details`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.principal import TenantScope
from service.db.engine import emit
from service.db.models import PromptLabel, utcnow
from service.errors import NotFound
from service.labels.policy import ArmNumbers, Decision, Policy, decide
from service.labels.service import LabelService, NothingToRollBack
from service.labels.split import Arm, arms_of
from service.rollouts.repository import RolloutRepository
from telemetry.events import RolloutAnalysed

ACTOR = "rollout"


@dataclass(frozen=True, slots=True)
class RolloutState:
    """What GET .../rollout shows: the label's rollout, its arms with their numbers since the step began."""

    name: str
    label: str
    status: str
    step: int
    steps: list[int]
    policy: dict[str, Any]
    step_started_at: str
    last_analysis_at: str | None
    last_decision: dict[str, Any] | None
    arms: list[dict[str, Any]]


class RolloutService:
    def __init__(self, session: AsyncSession, labels: LabelService, repo: RolloutRepository | None = None) -> None:
        self.session = session
        self.labels = labels
        self.repo = repo or RolloutRepository(session)

    async def state(self, name: str, label: str, *, tenant: TenantScope) -> RolloutState:
        org_id, workspace_id = tenant.pair()
        row = await self.labels.repo.get_label(org_id, workspace_id, name, label)
        if row is None or row.rollout is None:
            raise NotFound(
                f"Label {label!r} of {name!r} has no rollout. Start one with PUT .../labels/{label} and a `split` "
                "with a `policy`.",
                code="rollout_not_found",
            )
        rollout = row.rollout
        since = datetime.fromisoformat(rollout["step_started_at"])
        numbers = await self.repo.arm_numbers(org_id, workspace_id, name, label, since)
        arms = arms_of(row.split) or [Arm(row.version_id, 100)]
        return RolloutState(
            name=name,
            label=label,
            status=rollout["status"],
            step=rollout["step"],
            steps=list(rollout["policy"]["steps"]),
            policy=rollout["policy"],
            step_started_at=rollout["step_started_at"],
            last_analysis_at=rollout.get("last_analysis_at"),
            last_decision=rollout.get("last_decision"),
            arms=[
                {
                    "variant": variant,
                    "version_id": arm.version_id,
                    "weight": arm.weight,
                    **numbers.get(variant, ArmNumbers()).shown(),
                }
                for variant, arm in enumerate(arms)
            ],
        )

    async def any_due(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return any(_due(row, now) for row in await self.labels.repo.active_rollouts())

    async def analyse_due(self, now: datetime | None = None) -> list[Decision]:
        """Analyse every running rollout whose interval has passed since its last analysis; act on each decision."""
        now = now or utcnow()
        made = []
        for row in await self.labels.repo.active_rollouts():
            if _due(row, now):
                made.append(await self._analyse(row, Policy.of_stored((row.rollout or {})["policy"]), now))
        return made

    async def _analyse(self, row: PromptLabel, policy: Policy, now: datetime) -> Decision:
        rollout = dict(row.rollout or {})
        name, label = row.name, row.label
        started = datetime.fromisoformat(rollout["step_started_at"])
        numbers = await self.repo.arm_numbers(row.org_id, row.workspace_id, name, label, started)
        baseline, canary = numbers.get(0, ArmNumbers()), numbers.get(1, ArmNumbers())
        decision = decide(policy, rollout["step"], started, now, baseline, canary)
        rollout["last_analysis_at"] = now.isoformat()
        weight = {"abort": 0, "complete": 100}.get(decision.action, decision.weight)
        action = None if decision.action == "wait" else decision.action
        emit(self.session, RolloutAnalysed(label, weight, action))
        if decision.action == "wait":
            rollout["last_wait"] = {"reason": decision.reason, **decision.numbers}
            row.rollout = rollout
            await self.session.flush()
            return decision
        shown = {"action": decision.action, "reason": decision.reason, "at": now.isoformat(), **decision.numbers}
        details = {
            "reason": decision.reason,
            "step": decision.step,
            "weight": decision.weight,
            "steps": list(policy.steps),
            **decision.numbers,
        }
        rollout["last_decision"] = shown
        rollout.pop("last_wait", None)
        tenant = TenantScope(None, row.org_id, row.workspace_id)
        arms = arms_of(row.split) or [Arm(row.version_id, 100)]
        if decision.action in ("promote", "complete"):
            rollout.update(step=decision.step, step_started_at=now.isoformat())
            if decision.action == "complete":
                rollout["status"] = "completed"
                new_arms = [Arm(arms[1].version_id, 100)]
            else:
                new_arms = [Arm(arms[0].version_id, 100 - decision.weight), Arm(arms[1].version_id, decision.weight)]
            await self.labels.set_split(
                name,
                label,
                new_arms,
                tenant=tenant,
                reason=decision.reason,
                rollout=rollout,
                kind=decision.action,
                details=details,
            )
            return decision
        await self.labels.annotate(name, label, decision.action, tenant=tenant, reason=decision.reason, details=details)
        if decision.action == "abort":
            rollout["status"] = "aborted"
            reason = f"rollout aborted: {decision.reason}"
            try:
                await self.labels.rollback(
                    name, label, tenant=tenant, reason=reason, undo_event_id=rollout.get("split_event_id")
                )
            except NothingToRollBack:  # the split created the label: all traffic back to the baseline
                await self.labels.set_split(
                    name,
                    label,
                    [Arm(arms[0].version_id, 100)],
                    tenant=tenant,
                    reason=reason,
                    rollout=rollout,
                    kind="move",
                )
        else:
            rollout["status"] = "held"
        current = await self.labels.repo.get_label(row.org_id, row.workspace_id, name, label)
        if current is not None:
            current.rollout = rollout
            await self.session.flush()
        return decision


def _due(row: PromptLabel, now: datetime) -> bool:
    rollout = row.rollout or {}
    last = rollout.get("last_analysis_at")
    interval = float(rollout["policy"]["interval_s"])
    return last is None or (now - datetime.fromisoformat(last)).total_seconds() >= interval
