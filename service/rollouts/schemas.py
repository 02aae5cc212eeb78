"""The JSON of a rollout's state (GET /api/prompts/{name}/labels/{label}/rollout)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from service.rollouts.service import RolloutState


class RolloutArmOut(Struct):
    variant: int
    version_id: int
    weight: int
    calls: int
    errors: int
    error_rate: float
    p95_ms: float | None
    schema_violations: int
    identity_mismatches: int


class RolloutOut(Struct):
    name: str
    label: str
    status: str  # running | held | aborted | completed | superseded
    step: int  # index into `steps`
    steps: list[int]
    policy: dict[str, Any]
    step_started_at: str
    last_analysis_at: str | None
    # The latest promote / complete / abort / hold: its action, reason, time and the numbers behind it.
    last_decision: dict[str, Any] | None
    # Each arm's numbers since the current step began (runs through the label and observations).
    arms: list[RolloutArmOut]

    @classmethod
    def of(cls, state: RolloutState) -> RolloutOut:
        return cls(
            name=state.name,
            label=state.label,
            status=state.status,
            step=state.step,
            steps=state.steps,
            policy=state.policy,
            step_started_at=state.step_started_at,
            last_analysis_at=state.last_analysis_at,
            last_decision=state.last_decision,
            arms=[RolloutArmOut(**arm) for arm in state.arms],
        )
