"""Label drift, decided in one place for every call through a label: a run (`LabelService.run`) and an observation
an application reported (service/observations/). The call's reported identity was pinned first (`VersionService.
find_or_create`: a new identity in the labelled version's lineage becomes its newest version, so the label resolves
with `drift: true` and `reported`); here it is compared with the labelled version and counted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import emit
from service.db.models import PromptVersion
from telemetry.events import LabelCalls, LabelDrifted, SplitCalls


def identity_matches_label(pinned: PromptVersion, served: PromptVersion) -> bool:
    """Whether the version of the identity a call reported is the identity the labelled version was pinned to."""
    return served.captured == pinned.captured


def count_labelled_call(
    session: AsyncSession,
    *,
    label: str | None,
    provider: str,
    matches: bool | None,
    latency_ms: float | None,
    error: bool = False,
    variant: int | None = None,
) -> None:
    """Once committed: prompter_label_drift_total{provider} when the identity did not match, and the call in the
    production-traffic metrics (prompter_label_calls_total, prompter_label_call_duration_seconds)."""
    if matches is False:
        emit(session, LabelDrifted(provider))
    seconds = () if latency_ms is None else (latency_ms / 1000,)
    emit(session, LabelCalls(label, provider, ok=0 if error else 1, error=1 if error else 0, seconds=seconds))
    if variant is not None:
        ok, failed, drift = (0 if error else 1), (1 if error else 0), (1 if matches is False else 0)
        emit(session, SplitCalls(label, variant, ok=ok, error=failed, seconds=seconds, drift=drift))


@dataclass(slots=True)
class _Tally:
    ok: int = 0
    error: int = 0
    drift: int = 0
    seconds: list[float] = field(default_factory=list)


def count_labelled_calls(
    session: AsyncSession,
    calls: Iterable[tuple[str | None, str, bool | None, float | None, bool, int | None]],
) -> None:
    """`count_labelled_call` for many calls - (label, provider, matches, latency_ms, error, variant) each - recorded
    once committed with one counter add per (label, provider, outcome) instead of one per call, and per split arm."""
    tallies: dict[tuple[str | None, str], _Tally] = {}
    arms: dict[tuple[str | None, int], _Tally] = {}
    for label, provider, matches, latency_ms, error, variant in calls:
        if variant is not None:
            _add(arms.setdefault((label, variant), _Tally()), matches, latency_ms, error)
        _add(tallies.setdefault((label, provider), _Tally()), matches, latency_ms, error)
    if not tallies:
        return

    for (label, provider), tally in tallies.items():
        for _ in range(tally.drift):
            emit(session, LabelDrifted(provider))
        emit(session, LabelCalls(label, provider, ok=tally.ok, error=tally.error, seconds=tuple(tally.seconds)))
    for (label, variant), arm in arms.items():
        seconds = tuple(arm.seconds)
        emit(session, SplitCalls(label, variant, ok=arm.ok, error=arm.error, seconds=seconds, drift=arm.drift))


def _add(tally: _Tally, matches: bool | None, latency_ms: float | None, error: bool) -> None:
    if error:
        tally.error += 1
    else:
        tally.ok += 1
    if matches is False:
        tally.drift += 1
    if latency_ms is not None:
        tally.seconds.append(latency_ms / 1000)
