"""Security and tenancy with PROMPTER_AUTH=required: the matrix (no key / bad key / revoked / read vs write / other
tenant's ids) for every endpoint."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import event

from tests.support.keys import make_key, revoke  # noqa: F401 - other tests import them from here

BODY = {"name": "greet", "body": "Hi {{ who }}"}
RUN = {"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "Ada"}}
ENSURE = {"provider": "openai", "model_id": "gpt-4o"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(make_client, sqlite_url):
    """Tenant A and tenant B, each with a write and a read key; B owns a template, a version and a result."""
    # No rollout worker tick during the test: some tests here count every statement the engine runs.
    client = make_client(auth="required", rollout_tick_s=3600)
    keys = {
        (tenant, role): make_key(sqlite_url, "org-" + tenant, "ws-" + tenant, role)
        for tenant in ("a", "b")
        for role in ("read", "write")
    }
    b = bearer(keys["b", "write"])
    template = client.post("/api/prompt-templates", json=BODY, headers=b)
    assert template.status_code == 201, template.text
    tid = template.json()["id"]
    assert template.json()["org_id"] == "org-b" and template.json()["workspace_id"] == "ws-b"
    assert client.post(f"/api/prompt-templates/{tid}/ensure-version", json=ENSURE, headers=b).status_code == 201
    result = client.post(f"/api/prompt-templates/{tid}/run", json=RUN, headers=b)
    assert result.status_code == 201
    return client, keys, tid, result.json()["id"]


def endpoints(tid: int, rid: int) -> list[tuple[str, str, dict | None, bool]]:
    """(method, path, json, is_write) for every /api endpoint, aimed at tenant B's ids."""
    return [
        ("POST", "/api/prompt-templates", {**BODY, "body": "new {{ x }}"}, True),
        ("GET", "/api/prompt-templates", None, False),
        ("GET", f"/api/prompt-templates/{tid}", None, False),
        ("POST", f"/api/prompt-templates/{tid}/ensure-version", ENSURE, True),
        ("GET", f"/api/prompt-templates/{tid}/versions", None, False),
        ("POST", f"/api/prompt-templates/{tid}/run", RUN, True),
        ("GET", f"/api/prompt-templates/{tid}/results", None, False),
        ("GET", f"/api/prompt-results/{rid}", None, False),
    ]


def call(client, method, path, body, headers=None):
    return client.request(method, path, json=body, headers=headers or {})


def test_no_key_malformed_and_unknown_keys_are_401_without_echo(world):
    client, keys, tid, rid = world
    forged = keys["a", "write"][:-4] + "AAAA"
    for method, path, body, _ in endpoints(tid, rid):
        for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}, bearer(forged)):
            response = call(client, method, path, body, headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.json()["error"] == "unauthorized"
            assert "Bearer" in response.headers["www-authenticate"]
            assert forged not in response.text and "nonsense" not in response.text


def test_revoked_key_is_refused_immediately(world, sqlite_url):
    client, keys, tid, rid = world
    token = keys["b", "read"]
    assert client.get(f"/api/prompt-templates/{tid}", headers=bearer(token)).status_code == 200
    revoke(sqlite_url, token)
    for method, path, body, _ in endpoints(tid, rid):
        response = call(client, method, path, body, bearer(token))
        assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_read_key_reads_but_cannot_write(world):
    client, keys, tid, rid = world
    for method, path, body, is_write in endpoints(tid, rid):
        response = call(client, method, path, body, bearer(keys["b", "read"]))
        if is_write:
            assert response.status_code == 403 and response.json()["error"] == "forbidden_role", (method, path)
        else:
            assert response.status_code == 200, (method, path, response.text)


def test_other_tenants_ids_answer_404(world):
    client, keys, tid, rid = world
    for method, path, body, _ in endpoints(tid, rid):
        if path == "/api/prompt-templates":
            continue  # no id in the path: covered by the listing below and the 403 test
        response = call(client, method, path, body, bearer(keys["a", "write"]))
        assert response.status_code == 404, (method, path, response.text)
        # the same answer as for an id that does not exist at all
        assert response.json()["error"] in ("template_not_found", "result_not_found")
    # and A's listing does not contain B's template
    listed = client.get("/api/prompt-templates", headers=bearer(keys["a", "read"])).json()["items"]
    assert listed == []


def test_naming_another_tenant_in_body_or_query_is_403(world):
    client, keys, _, _ = world
    a = bearer(keys["a", "write"])
    response = client.post("/api/prompt-templates", json={**BODY, "org_id": "org-b", "workspace_id": "ws-b"}, headers=a)
    assert response.status_code == 403 and response.json()["error"] == "tenant_mismatch"
    assert client.get("/api/prompt-templates?org_id=org-b", headers=a).status_code == 403
    # repeating your own tenant is fine
    own = client.post("/api/prompt-templates", json={**BODY, "org_id": "org-a", "workspace_id": "ws-a"}, headers=a)
    assert own.status_code == 201


def test_same_prompt_in_two_tenants_never_shares_versions(world):
    client, keys, tid_b, _ = world
    a = bearer(keys["a", "write"])
    tid_a = client.post("/api/prompt-templates", json=BODY, headers=a).json()["id"]
    version_a = client.post(f"/api/prompt-templates/{tid_a}/ensure-version", json=ENSURE, headers=a)
    assert version_a.status_code == 201 and version_a.json()["template_id"] == tid_a


def test_auth_failures_are_counted_by_bounded_reason(world):
    client, keys, tid, _ = world
    client.get("/api/prompt-templates")
    client.post("/api/prompt-templates", json=BODY, headers=bearer(keys["a", "read"]))
    metrics = client.get("/metrics").text
    assert 'prompter_auth_failure_total{env="dev",reason="missing",service="prompter-api"}' in metrics
    assert 'reason="read_only_key"' in metrics
    assert keys["a", "read"] not in metrics


def test_authenticated_gets_open_no_write_transaction(world):
    """The key check reads: on SQLite it must not BEGIN IMMEDIATE (a GET would queue for the one write lock)."""
    client, keys, tid, rid = world
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = client.app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _, path, _, is_write in endpoints(tid, rid):
            if not is_write:
                assert client.get(path, headers=bearer(keys["b", "read"])).status_code == 200, path
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert any(s.startswith("SELECT") for s in statements)
    assert [s for s in statements if "IMMEDIATE" in s or s.startswith(("INSERT", "UPDATE", "DELETE"))] == []


def test_authenticated_get_is_not_blocked_by_a_running_writer(world, sqlite_url):
    """Another connection holds SQLite's write lock (as a long write transaction would): reads still answer."""
    client, keys, tid, _ = world
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        response = client.get(f"/api/prompt-templates/{tid}", headers=bearer(keys["b", "read"]))
        assert response.status_code == 200, response.text
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_health_and_metrics_stay_reachable_without_a_key(world):
    client, *_ = world
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_cli_creates_lists_and_revokes_keys(sqlite_url):
    env = {"DB_URL": sqlite_url, "PATH": "/usr/bin:/bin"}
    prompter = [sys.executable, "-m", "service.cli"]
    created = subprocess.run(
        [*prompter, "keys", "create", "--org", "o", "--workspace", "w", "--role", "write"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = next(line.split()[-1] for line in created.stdout.splitlines() if line.startswith("api key:"))
    key_id = token.split("_")[1]
    listed = subprocess.run([*prompter, "keys", "list"], env=env, capture_output=True, text=True, check=True).stdout
    secret = token.split("_", 2)[2]
    assert len(secret) == 43 and key_id in listed and "active" in listed and secret not in listed
    subprocess.run([*prompter, "keys", "revoke", key_id], env=env, capture_output=True, text=True, check=True)
    listed = subprocess.run([*prompter, "keys", "list"], env=env, capture_output=True, text=True, check=True).stdout
    assert "revoked" in listed
    bad_role = subprocess.run(
        [*prompter, "keys", "create", "--org", "o", "--workspace", "w", "--role", "owner"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad_role.returncode != 0 and "admin" in bad_role.stderr  # argparse lists the allowed roles
    admin = subprocess.run(
        [*prompter, "keys", "create", "--org", "o", "--workspace", "w", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "role:      admin" in admin.stdout
