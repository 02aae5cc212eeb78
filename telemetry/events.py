"""Domain events: what happened, as services say it. A service adds an event to its unit of work
(`service.db.transactions.emit`); the unit of work publishes the events once the transaction committed (never when it
rolled back), and `publish` here decides how each is measured. Names, label keys and spans stay in telemetry/.

Also the spans of the label service's domain steps, so no span name or attribute key is written in service/.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from telemetry.port import Telemetry

log = logging.getLogger("prompter.telemetry")


@dataclass(frozen=True, slots=True)
class ResultStored:
    """A run's result row was committed."""

    fingerprint_present: bool


@dataclass(frozen=True, slots=True)
class LabelMoved:
    """A label was moved, deleted or rolled back (`kind`)."""

    kind: str
    protected: bool


@dataclass(frozen=True, slots=True)
class LabelDrifted:
    """A run through a label got another identity from the provider than the labelled version was pinned to."""

    provider: str


@dataclass(frozen=True, slots=True)
class ModelDrifted:
    """A new version of a lineage was pinned to another identity than the newest one before it."""

    provider: str
    model_id: str


@dataclass(frozen=True, slots=True)
class SchemaViolated:
    """A run's structured output did not match its version's response schema."""

    provider: str


@dataclass(frozen=True, slots=True)
class LabelCalls:
    """Provider calls through a label were committed (a run, or the accepted observations of one batch)."""

    label: str | None
    provider: str
    ok: int
    error: int
    seconds: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class SplitCalls:
    """Calls through one arm of a split label were committed."""

    label: str | None
    variant: int
    ok: int
    error: int
    seconds: tuple[float, ...] = ()
    drift: int = 0


@dataclass(frozen=True, slots=True)
class RolloutAnalysed:
    """The rollout worker analysed a rollout: the canary's weight after it, and its decision (None: wait)."""

    label: str
    weight: int
    action: str | None


@dataclass(frozen=True, slots=True)
class PromptListChanged:
    """What a workspace's prompt list shows, or what one of its labels resolves to, changed: a prompt was created,
    archived, unarchived or deleted, or a label was moved, split, rolled back or deleted. Connected MCP clients are
    told (`notifications/prompts/list_changed`); nothing is measured."""

    org_id: str
    workspace_id: str
    name: str


DomainEvent = (
    ResultStored
    | LabelMoved
    | LabelDrifted
    | ModelDrifted
    | SchemaViolated
    | LabelCalls
    | SplitCalls
    | RolloutAnalysed
    | PromptListChanged
)

_MEASURE: dict[type, Callable[[Telemetry, Any], None]] = {
    ResultStored: lambda t, e: t.record_result_insert(fingerprint_present=e.fingerprint_present),
    LabelMoved: lambda t, e: t.record_label_move(protected=e.protected, kind=e.kind),
    LabelDrifted: lambda t, e: t.record_label_drift(e.provider),
    ModelDrifted: lambda t, e: t.record_model_drift(e.provider, e.model_id),
    SchemaViolated: lambda t, e: t.record_response_schema_violation(e.provider),
    LabelCalls: lambda t, e: t.record_label_calls(e.label, e.provider, ok=e.ok, error=e.error, seconds=e.seconds),
    SplitCalls: lambda t, e: t.record_split_calls(
        e.label, e.variant, ok=e.ok, error=e.error, seconds=e.seconds, drift=e.drift
    ),
    RolloutAnalysed: lambda t, e: t.record_rollout(e.label, weight=e.weight, action=e.action),
}


def publisher(telemetry: Telemetry) -> Callable[[object], None]:
    """The unit of work's publish function for this telemetry port. It never raises: a broken meter (or an event
    nobody measures) must not fail a request whose data is already committed."""

    def publish(event: object) -> None:
        measure = _MEASURE.get(type(event))
        if measure is None:
            log.debug("domain event without a measurement: %r", event)
            return
        try:
            measure(telemetry, event)
        except Exception as exc:  # noqa: BLE001 - counted, never raised
            telemetry.count_failure("publish_event", exc)

    return publish


@contextmanager
def label_resolve_span(
    telemetry: Telemetry, *, label: str | None = None, version_id: int | None = None
) -> Iterator[None]:
    attributes: dict[str, Any] = (
        {"prompter.version_id": version_id} if version_id is not None else {"prompter.label": label}
    )
    with telemetry.span("prompter.label.resolve", **attributes):
        yield


@contextmanager
def label_move_span(telemetry: Telemetry, label: str, kind: str) -> Iterator[None]:
    with telemetry.span("prompter.label.move", **{"prompter.label": label, "prompter.label.kind": kind}):
        yield
