"""Label drift, decided in one place for every call through a label: a run (`LabelService.run`) and an observation
an application reported (service/observations/). The call's reported identity was pinned first (`VersionService.
find_or_create`: a new identity in the labelled version's lineage becomes its newest version, so the label resolves
with `drift: true` and `reported`); here it is compared with the labelled version and counted."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import on_commit
from service.db.models import PromptVersion
from telemetry import Telemetry


def identity_matches_label(pinned: PromptVersion, served: PromptVersion) -> bool:
    """Whether the version of the identity a call reported is the identity the labelled version was pinned to."""
    return served.captured == pinned.captured


def count_labelled_call(
    session: AsyncSession,
    telemetry: Telemetry,
    *,
    label: str | None,
    provider: str,
    matches: bool | None,
    latency_ms: float | None,
    error: bool = False,
) -> None:
    """Once committed: prompter_label_drift_total{provider} when the identity did not match, and the call in the
    production-traffic metrics (prompter_label_calls_total, prompter_label_call_duration_seconds)."""
    seconds = latency_ms / 1000 if latency_ms is not None else None

    def record() -> None:
        if matches is False:
            telemetry.record_label_drift(provider)
        telemetry.record_label_call(label, provider, seconds=seconds, error=error)

    on_commit(session, record)
