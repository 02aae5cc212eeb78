"""Labels with PROMPTER_AUTH=required over HTTP (the app in-process): roles read < write < admin, protected labels, the actor in the
history, and another tenant's prompts answering exactly like missing ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.labels_support import create_template, in_process_api, pin
from tests.e2e.test_auth import bearer, make_key


@pytest.fixture
def world(migrated_sqlite_url: str) -> Iterator[tuple[httpx.Client, dict[str, Any], int, int]]:
    """Tenant b owns `greet` with two versions; both tenants have read, write and admin keys."""
    with in_process_api(migrated_sqlite_url, auth="required", protected_labels="production,prod") as client:
        keys = {
            (tenant, role): make_key(migrated_sqlite_url, f"org-{tenant}", f"ws-{tenant}", role)
            for tenant in ("a", "b")
            for role in ("read", "write", "admin")
        }
        b = bearer(keys["b", "write"])
        template = create_template(client, "greet", "Hello {{ who }}", headers=b)
        v1 = pin(client, template["id"], headers=b)["id"]
        v2 = pin(client, template["id"], headers=b, temperature=0.5)["id"]
        yield client, keys, v1, v2


def put(client: httpx.Client, label: str, version_id: int, token: str) -> httpx.Response:
    return client.put(f"/api/prompts/greet/labels/{label}", json={"version_id": version_id}, headers=bearer(token))


def test_write_key_is_refused_on_protected_labels_admin_is_not(world) -> None:
    client, keys, v1, v2 = world
    write, admin = keys["b", "write"], keys["b", "admin"]
    for label in ("production", "prod"):
        refused = put(client, label, v1, write)
        assert refused.status_code == 403 and refused.json()["error"] == "protected_label", refused.text
    assert put(client, "production", v1, admin).status_code == 200
    assert put(client, "production", v2, admin).status_code == 200
    for response in (
        put(client, "production", v1, write),
        client.post("/api/prompts/greet/labels/production/rollback", json={}, headers=bearer(write)),
        client.delete("/api/prompts/greet/labels/production", headers=bearer(write)),
    ):
        assert response.status_code == 403 and response.json()["error"] == "protected_label", response.text
    assert client.get("/api/prompts/greet", headers=bearer(write)).json()["version"]["id"] == v2  # unchanged
    metrics = client.get("/metrics").text
    assert 'prompter_auth_failure_total{env="dev",reason="protected_label",service="prompter-api"} 5.0' in metrics

    # unprotected labels: write keys may; read keys may only read
    assert put(client, "staging", v1, write).status_code == 200
    read = put(client, "staging", v2, keys["b", "read"])
    assert read.status_code == 403 and read.json()["error"] == "forbidden_role"
    assert client.get("/api/prompts/greet?label=staging", headers=bearer(keys["b", "read"])).status_code == 200

    # running through a protected label is not moving it: a write key may
    ran = client.post("/api/prompts/greet/run", json={"variables": {"who": "Ada"}}, headers=bearer(write))
    assert ran.status_code == 201 and ran.json()["label"] == "production", ran.text
    refused = client.post(
        "/api/prompts/greet/run", json={"variables": {"who": "Ada"}}, headers=bearer(keys["b", "read"])
    )
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden_role"

    rolled = client.post("/api/prompts/greet/labels/production/rollback", json={}, headers=bearer(admin))
    assert rolled.status_code == 200 and rolled.json()["version_id"] == v1
    assert rolled.json()["updated_by"] == admin.split("_")[1]
    history = client.get("/api/prompts/greet/labels/production/history", headers=bearer(keys["b", "read"])).json()
    assert {event["actor"] for event in history["items"]} == {admin.split("_")[1]}  # the key id, never the secret
    assert admin.split("_", 2)[2] not in str(history)


def test_other_tenant_gets_404_everywhere(world) -> None:
    client, keys, v1, v2 = world
    assert put(client, "staging", v1, keys["b", "write"]).status_code == 200
    assert client.get(f"/api/versions/{v2}/diff?against={v1}", headers=bearer(keys["b", "read"])).status_code == 200
    a = bearer(keys["a", "admin"])
    for method, path, body in (
        ("GET", "/api/prompts/greet", None),
        ("GET", "/api/prompts/greet?label=staging", None),
        ("GET", "/api/prompts/greet?label=latest", None),
        ("GET", f"/api/prompts/greet?version_id={v1}", None),
        ("GET", "/api/prompts/greet/labels", None),
        ("GET", "/api/prompts/greet/labels/staging/history", None),
        ("PUT", "/api/prompts/greet/labels/staging", {"version_id": v1}),
        ("DELETE", "/api/prompts/greet/labels/staging", None),
        ("POST", "/api/prompts/greet/labels/staging/rollback", {}),
        ("POST", "/api/prompts/greet/run?label=staging", {"variables": {"who": "x"}}),
        ("GET", f"/api/versions/{v2}/diff?against={v1}", None),
    ):
        response = client.request(method, path, json=body, headers=a)
        assert response.status_code == 404, (method, path, response.text)
        expected = "version_not_found" if "/versions/" in path else "template_not_found"
        assert response.json()["error"] == expected, (method, path, response.text)
    # naming b's tenant with a's key is refused, as everywhere in /api
    named = client.get("/api/prompts/greet?org_id=org-b&workspace_id=ws-b", headers=a)
    assert named.status_code == 403 and named.json()["error"] == "tenant_mismatch"
    # a's own template of the same name cannot be pointed at b's version
    create_template(client, "greet", "Hello {{ who }}", headers=bearer(keys["a", "write"]))
    cross = client.put("/api/prompts/greet/labels/staging", json={"version_id": v1}, headers=a)
    assert cross.status_code == 404 and cross.json()["error"] == "version_not_found"
    # and b's label is untouched
    assert client.get("/api/prompts/greet?label=staging", headers=bearer(keys["b", "read"])).status_code == 200


def test_no_key_is_401(world) -> None:
    client, *_ = world
    response = client.get("/api/prompts/greet")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
