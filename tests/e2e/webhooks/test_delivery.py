"""Webhooks end to end, on SQLite and PostgreSQL, to a real HTTP receiver: every label change, revision, version and
drift is an event, delivered signed (verified with `standardwebhooks`), in order per prompt, and a receiver that is
down for a while gets every event exactly once when it is back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.labels_support import TENANT, create_template, in_process_api, pin
from tests.support.webhook_receiver import WebhookReceiver, wait_until

FAST = {
    "webhook_allowed_hosts": "127.0.0.1",
    "webhook_poll_s": 0.05,
    "webhook_retry_base_s": 0.05,
    "webhook_retry_max_s": 0.2,
    "webhook_timeout_s": 2.0,
}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url if request.param == "sqlite" else request.getfixturevalue("migrated_pg_url")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def api(db_url: str) -> Iterator[httpx.Client]:
    with in_process_api(db_url, **FAST) as client:
        yield client


def create_endpoint(client: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/webhooks", json={"url": url, **TENANT, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def move(client: httpx.Client, name: str, label: str, version_id: int) -> None:
    response = client.put(f"/api/prompts/{name}/labels/{label}", json={"version_id": version_id, **TENANT})
    assert response.status_code == 200, response.text


def test_signed_events_for_revisions_versions_and_label_changes(api: httpx.Client, receiver: WebhookReceiver) -> None:
    created = create_endpoint(api, receiver.url)
    secret = created["secret"]
    assert secret.startswith("whsec_") and "secret" not in created["endpoint"]

    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    v1 = pin(api, template["id"])
    v2 = pin(api, template["id"], temperature=0.3)
    move(api, "greet", "production", v1["id"])
    move(api, "greet", "production", v2["id"])
    rolled = api.post("/api/prompts/greet/labels/production/rollback", json=TENANT)
    assert rolled.status_code == 200, rolled.text
    assert api.delete("/api/prompts/greet/labels/production", params=TENANT).status_code == 204

    expected = [
        "prompt.revision_created",
        "prompt.version_created",
        "prompt.version_created",
        "label.moved",
        "label.moved",
        "label.rolled_back",
        "label.deleted",
    ]
    wait_until(lambda: len(receiver.events()) >= len(expected), "every event at the receiver")
    payloads = receiver.verified(secret)
    assert [p["type"] for p in payloads] == expected
    assert all(p["timestamp"].endswith("Z") for p in payloads)
    moved = payloads[3]["data"]
    assert moved["prompt"] == "greet" and moved["label"] == "production"
    assert moved["from_version_id"] is None and moved["to_version_id"] == v1["id"]
    assert payloads[5]["data"]["to_version_id"] == v1["id"]
    assert len({item.event_id for item in receiver.events()}) == len(expected)

    endpoint_id = created["endpoint"]["id"]
    log = api.get(f"/api/webhooks/{endpoint_id}/deliveries", params=TENANT).json()["items"]

    def delivered() -> bool:
        nonlocal log
        log = api.get(f"/api/webhooks/{endpoint_id}/deliveries", params=TENANT).json()["items"]
        return len(log) == len(expected) and all(d["status"] == "succeeded" for d in log)

    wait_until(delivered, "the delivery log to record every success")
    assert all(d["response_code"] == 204 and d["attempts"] == 1 and d["latency_ms"] >= 0 for d in log)


def test_a_receiver_down_for_a_while_gets_every_event_once_in_order(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = create_endpoint(api, receiver.url, event_types=["label.moved"])
    secret, endpoint_id = created["secret"], created["endpoint"]["id"]
    template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
    versions = [pin(api, template["id"], temperature=t / 10)["id"] for t in range(3)]
    move(api, "greet", "production", versions[0])
    wait_until(lambda: len(receiver.events()) == 1, "the first move")

    receiver.stop()  # connections are refused from now on
    targets = [versions[i % 3] for i in range(1, 13)]
    for version_id in targets:
        move(api, "greet", "production", version_id)
    receiver.status = 503  # back, but failing: more failed attempts
    receiver.start()
    wait_until(lambda: receiver.refused_while_failing >= 2, "failed attempts while the receiver answers 503")
    assert api.get(f"/api/webhooks/{endpoint_id}", params=TENANT).json()["failing_since"] is not None
    receiver.status = 200

    wait_until(lambda: len(receiver.events()) == 13, "every move once the receiver is back")
    payloads = receiver.verified(secret)
    assert [p["data"]["to_version_id"] for p in payloads] == [versions[0], *targets]
    ids = [item.event_id for item in receiver.events()]
    assert len(set(ids)) == len(ids) == 13
    # Back to healthy: the endpoint is no longer counted as failing (it would be disabled after a day otherwise).
    assert api.get(f"/api/webhooks/{endpoint_id}", params=TENANT).json()["failing_since"] is None
