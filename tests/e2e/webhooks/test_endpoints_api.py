"""/api/webhooks over HTTP (in-process): admin keys only, the secret answered once, URL checks (scheme and the SSRF
rule, with the allow-list), the delivery log and manual redelivery with the same webhook-id."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from service.providers import ProviderRegistry
from tests.e2e.labels_support import TENANT, create_template, in_process_api, pin
from tests.e2e.webhooks.test_delivery import FAST, create_endpoint, move
from tests.support.keys import make_key
from tests.support.webhook_receiver import WebhookReceiver, wait_until


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def test_only_admin_keys_manage_webhooks(migrated_sqlite_url: str, receiver: WebhookReceiver) -> None:
    keys = {role: make_key(migrated_sqlite_url, "acme", "shop", role) for role in ("read", "write", "admin")}
    other_admin = make_key(migrated_sqlite_url, "acme", "other", "admin")
    with in_process_api(migrated_sqlite_url, auth="required", **FAST) as api:

        def auth(role: str) -> dict[str, str]:
            return {"authorization": f"Bearer {keys[role]}"}

        for role in ("read", "write"):
            refused = api.post("/api/webhooks", json={"url": receiver.url}, headers=auth(role))
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"] == "forbidden_role"
        assert api.get("/api/webhooks", headers=auth("write")).status_code == 403
        assert api.get("/api/webhooks", headers=auth("read")).status_code == 403
        assert api.post("/api/webhooks", json={"url": receiver.url}).status_code == 401

        created = api.post("/api/webhooks", json={"url": receiver.url}, headers=auth("admin"))
        assert created.status_code == 201, created.text
        endpoint = created.json()["endpoint"]
        assert endpoint["created_by"] == keys["admin"].split("_")[1]
        listed = api.get("/api/webhooks", headers=auth("admin")).json()["items"]
        assert [item["id"] for item in listed] == [endpoint["id"]]
        assert (
            "secret" not in listed[0]
            and created.json()["secret"] not in api.get("/api/webhooks", headers=auth("admin")).text
        )
        # Another workspace's admin sees none of it.
        other = {"authorization": f"Bearer {other_admin}"}
        assert api.get("/api/webhooks", headers=other).json()["items"] == []
        assert api.get(f"/api/webhooks/{endpoint['id']}", headers=other).status_code == 404
        assert api.delete(f"/api/webhooks/{endpoint['id']}", headers=other).status_code == 404
        assert api.post(f"/api/webhooks/{endpoint['id']}/enable", headers=other).status_code == 404
        assert api.post(f"/api/webhooks/{endpoint['id']}/enable", headers=auth("write")).status_code == 403
        assert api.delete(f"/api/webhooks/{endpoint['id']}", headers=auth("admin")).status_code == 204
        assert api.get(f"/api/webhooks/{endpoint['id']}", headers=auth("admin")).status_code == 404


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/hook", "invalid_webhook_url"),
        ("javascript:alert(1)", "invalid_webhook_url"),
        ("http://user:secret@example.com/hook", "invalid_webhook_url"),
        ("http://169.254.169.254/latest/meta-data/", "webhook_url_refused"),
        ("http://[fd00:ec2::254]/", "webhook_url_refused"),
        ("http://10.0.0.7/hook", "webhook_url_refused"),
        ("http://127.0.0.2/hook", "webhook_url_refused"),  # the allow-list names 127.0.0.1 only
    ],
)
def test_bad_or_internal_urls_are_400(migrated_sqlite_url: str, url: str, code: str) -> None:
    with in_process_api(migrated_sqlite_url, **FAST) as api:
        refused = api.post("/api/webhooks", json={"url": url, **TENANT})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == code
        assert api.get("/api/webhooks", params=TENANT).json()["items"] == []


def test_loopback_needs_the_allow_list(migrated_sqlite_url: str, receiver: WebhookReceiver) -> None:
    with in_process_api(migrated_sqlite_url) as api:
        refused = api.post("/api/webhooks", json={"url": receiver.url, **TENANT})
        assert refused.status_code == 400 and refused.json()["error"] == "webhook_url_refused"
        assert "PROMPTER_WEBHOOK_ALLOWED_HOSTS" in refused.json()["detail"]


def test_enabling_checks_the_url_again(migrated_sqlite_url: str, receiver: WebhookReceiver) -> None:
    # Created while the allow-list let loopback through, disabled by the worker, then the allow-list was emptied.
    with in_process_api(migrated_sqlite_url, **FAST) as api:
        endpoint = create_endpoint(api, receiver.url)["endpoint"]
    with sqlite3.connect(migrated_sqlite_url.removeprefix("sqlite:///")) as db:
        db.execute(
            "UPDATE webhook_endpoints SET enabled = 0, disabled_at = CURRENT_TIMESTAMP WHERE id = ?", [endpoint["id"]]
        )
    with in_process_api(migrated_sqlite_url) as api:
        refused = api.post(f"/api/webhooks/{endpoint['id']}/enable", params=TENANT)
        assert refused.status_code == 400 and refused.json()["error"] == "webhook_url_refused", refused.text
        assert api.get(f"/api/webhooks/{endpoint['id']}", params=TENANT).json()["enabled"] is False


def test_unknown_event_types_are_400_naming_the_field(migrated_sqlite_url: str, receiver: WebhookReceiver) -> None:
    with in_process_api(migrated_sqlite_url, **FAST) as api:
        refused = api.post("/api/webhooks", json={"url": receiver.url, "event_types": ["label.teleported"], **TENANT})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_event_types" and "event_types" in refused.json()["detail"]


def test_event_type_filter_delivery_log_and_redelivery(migrated_sqlite_url: str, receiver: WebhookReceiver) -> None:
    registry = ProviderRegistry.fakes()
    with in_process_api(migrated_sqlite_url, registry, **FAST) as api:
        created = create_endpoint(api, receiver.url, event_types=["label.moved", "model_identity.changed"])
        endpoint_id, secret = created["endpoint"]["id"], created["secret"]
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        v1 = pin(api, template["id"])
        move(api, "greet", "production", v1["id"])
        wait_until(lambda: len(receiver.events()) == 1, "the move")

        # The provider starts reporting another build: the next pin is a drift of the labelled version.
        registry.get("openai").set_identity("fp_new_build")  # type: ignore[attr-defined]
        v2 = pin(api, template["id"], refresh=True)
        assert v2["drift"] is True
        wait_until(lambda: len(receiver.events()) == 2, "the drift event")
        moved, drifted = receiver.verified(secret)
        assert moved["type"] == "label.moved"
        assert drifted["type"] == "model_identity.changed"
        assert drifted["data"]["labels"] == ["production"]
        assert drifted["data"]["old_identity"] == v1["captured"]
        assert drifted["data"]["new_identity"] == v2["captured"] != v1["captured"]
        assert (drifted["data"]["previous_version_id"], drifted["data"]["version_id"]) == (v1["id"], v2["id"])

        def log() -> list[dict]:
            return api.get(f"/api/webhooks/{endpoint_id}/deliveries", params=TENANT).json()["items"]

        wait_until(lambda: [d["status"] for d in log()] == ["succeeded", "succeeded"], "both deliveries logged")
        first = log()[-1]
        assert first["event_type"] == "label.moved" and first["event_id"] == receiver.events()[0].event_id
        page = api.get(f"/api/webhooks/{endpoint_id}/deliveries", params={**TENANT, "limit": 1}).json()
        assert len(page["items"]) == 1 and page["next_cursor"]

        again = api.post(f"/api/webhooks/{endpoint_id}/deliveries/{first['id']}/redeliver", params=TENANT)
        assert again.status_code == 202, again.text
        assert again.json()["status"] == "pending" and again.json()["event_id"] == first["event_id"]
        wait_until(lambda: len(receiver.events()) == 3, "the redelivery")
        assert receiver.events()[2].event_id == first["event_id"]
        assert receiver.events()[2].body == receiver.events()[0].body
        receiver.verified(secret)

        missing = api.post(f"/api/webhooks/{endpoint_id}/deliveries/999999/redeliver", params=TENANT)
        assert missing.status_code == 404 and missing.json()["error"] == "delivery_not_found"
