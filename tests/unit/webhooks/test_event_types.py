"""Every label history kind is published as a declared event type, and an undeclared one fails loudly
(service/webhooks/outbox.py), and the label service adds one event per change, with the change's numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from service.auth.principal import TenantScope
from service.labels.service import LabelService
from service.webhooks.outbox import EVENT_TYPES, LABEL_EVENT_TYPES, UnknownEventType, label_event_type, payload_of
from tests.unit.labels.fakes import FakeLabelRepository, FakeOutbox, FakeSession, FakeTelemetry

TENANT = TenantScope(None, "acme", "support")


def test_every_label_kind_has_a_declared_event_type() -> None:
    assert set(LABEL_EVENT_TYPES.values()) <= set(EVENT_TYPES)
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPES)
    for kind in ("move", "rollback", "delete", "split", "promote", "complete", "abort", "hold"):
        assert label_event_type(kind) in EVENT_TYPES


def test_an_unknown_kind_fails_loudly() -> None:
    with pytest.raises(UnknownEventType, match="LABEL_EVENT_TYPES"):
        label_event_type("teleport")


def test_the_payload_has_the_standard_webhooks_shape() -> None:
    body = payload_of("label.moved", datetime(2026, 12, 7, 6, 0, tzinfo=UTC), {"prompt": "greet"})
    assert json.loads(body) == {"type": "label.moved", "timestamp": "2026-12-07T06:00:00Z", "data": {"prompt": "greet"}}


async def test_each_label_change_adds_one_event() -> None:
    repo, outbox = FakeLabelRepository(), FakeOutbox()
    v1, v2 = repo.add_version("acme", "support", "greet"), repo.add_version("acme", "support", "greet")
    labels = LabelService(FakeSession(), FakeTelemetry(), frozenset(), None, repo=repo, outbox=outbox)  # type: ignore[arg-type]
    await labels.move("greet", "prod", v1, tenant=TENANT)
    await labels.move("greet", "prod", v1, tenant=TENANT)  # no change: no event
    await labels.move("greet", "prod", v2, tenant=TENANT, reason="ship")
    await labels.rollback("greet", "prod", tenant=TENANT)
    await labels.delete("greet", "prod", tenant=TENANT)
    assert [e["type"] for e in outbox.events] == ["label.moved", "label.moved", "label.rolled_back", "label.deleted"]
    assert {e["subject"] for e in outbox.events} == {"prompt:greet"}
    assert outbox.events[1]["data"] | {"history_id": None, "actor": None} == {
        "prompt": "greet",
        "label": "prod",
        "kind": "move",
        "from_version_id": v1,
        "to_version_id": v2,
        "history_id": None,
        "actor": None,
        "reason": "ship",
        "split": None,
        "details": None,
    }
