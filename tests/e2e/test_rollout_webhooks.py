"""A rollout watched through webhooks, on SQLite and PostgreSQL: a real HTTP receiver subscribed to the workspace gets
the signed events of a 10 % canary (verified with the `standardwebhooks` package) - `label.split_changed`, then
`rollout.aborted` and `label.rolled_back` when the canary's calls fail, or `rollout.promoted` and
`rollout.completed` when it is healthy - in the order the label history records them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.labels_support import TENANT, in_process_api
from tests.e2e.test_rollouts import TICK_S, Application, RefusesModel, history, start_canary, wait_for
from tests.support.webhook_receiver import WebhookReceiver

LABEL_AND_ROLLOUT = [
    "label.moved",
    "label.split_changed",
    "label.rolled_back",
    "rollout.promoted",
    "rollout.completed",
    "rollout.aborted",
    "rollout.held",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url if request.param == "sqlite" else request.getfixturevalue("migrated_pg_url")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def watched(db_url: str, receiver: WebhookReceiver) -> Iterator[tuple[httpx.Client, str]]:
    """The app with its rollout worker and its webhook worker, and the secret of an endpoint at `receiver`."""
    settings: dict[str, Any] = {
        "rollout_min_interval_s": 0.1,
        "rollout_tick_s": TICK_S,
        "webhook_allowed_hosts": "127.0.0.1",
        "webhook_poll_s": 0.05,
    }
    with in_process_api(db_url, **settings) as api:
        endpoint = {**TENANT, "url": receiver.url, "event_types": LABEL_AND_ROLLOUT}
        created = api.post("/api/webhooks", json=endpoint)
        assert created.status_code == 201, created.text
        yield api, created.json()["secret"]


def delivered(receiver: WebhookReceiver, secret: str, count: int) -> list[dict[str, Any]]:
    """The first `count` events the receiver got, each verified against its signature; waits until they are there."""
    wait_for(lambda: len(receiver.events()) >= count, f"{count} webhook deliveries", timeout_s=60)
    return receiver.verified(secret)[:count]


def test_an_aborted_canary_is_signed_split_changed_aborted_and_rolled_back(
    watched: tuple[httpx.Client, str], receiver: WebhookReceiver
) -> None:
    api, secret = watched
    v1, v2 = start_canary(api, min_seconds=3600)
    Application(api, RefusesModel(failing="gpt-4o-mini")).serve()
    wait_for(lambda: [e for e in history(api) if e["kind"] == "rollback"], "the rollback", timeout_s=30)

    events = delivered(receiver, secret, 4)
    assert [e["type"] for e in events] == ["label.moved", "label.split_changed", "rollout.aborted", "label.rolled_back"]
    split, aborted, rolled_back = (e["data"] for e in events[1:])
    assert split["split"] == [{"version_id": v1, "weight": 90}, {"version_id": v2, "weight": 10}]
    assert aborted["actor"] == "rollout" and "error rate" in aborted["details"]["reason"]
    assert aborted["details"]["canary"]["errors"] >= 5 and aborted["details"]["baseline"]["errors"] == 0
    assert (rolled_back["from_version_id"], rolled_back["to_version_id"], rolled_back["split"]) == (v1, v1, None)
    # the webhook events are the label history, one to one
    ids = [e["data"]["history_id"] for e in events]
    assert ids == sorted(e["id"] for e in history(api))
    assert len({item.event_id for item in receiver.events()}) == len(receiver.events())


def test_a_healthy_canary_is_signed_promoted_then_completed(
    watched: tuple[httpx.Client, str], receiver: WebhookReceiver
) -> None:
    api, secret = watched
    v1, v2 = start_canary(api, min_seconds=0.5)
    app = Application(api, RefusesModel(failing=None))
    wait_for(
        lambda: [e for e in history(api) if e["kind"] == "complete"],
        "the rollout to complete",
        timeout_s=30,
        between=lambda: app.serve(40),
    )
    events = delivered(receiver, secret, 4)
    assert [e["type"] for e in events] == [
        "label.moved",
        "label.split_changed",
        "rollout.promoted",
        "rollout.completed",
    ]
    promoted, completed = events[2]["data"], events[3]["data"]
    assert promoted["split"] == [{"version_id": v1, "weight": 50}, {"version_id": v2, "weight": 50}]
    assert (completed["to_version_id"], completed["split"]) == (v2, None)
