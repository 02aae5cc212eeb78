"""The README's walk-through, through the HTTP API, on SQLite and on real PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }} from {{team}}!"}
FINGERPRINT = "fp_stub_" + hashlib.sha256(b"openai:gpt-4o").hexdigest()[:8]


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request, make_client):
    if request.param == "sqlite":
        return make_client()
    return make_client(db_url=request.getfixturevalue("pg_url"), db_auto_migrate=True)


def test_create_duplicate_ensure_run_and_read_back(api):
    created = api.post("/api/prompt-templates", json=TEMPLATE)
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["variables"] == ["name", "team"]
    assert template["revision"] == 1
    assert template["content_hash"] == "sha256:" + hashlib.sha256(TEMPLATE["body"].encode()).hexdigest()

    duplicate = api.post("/api/prompt-templates", json=TEMPLATE)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "duplicate_template"
    assert duplicate.json()["existing_id"] == template["id"]

    tid = template["id"]
    version = api.post(f"/api/prompt-templates/{tid}/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"})
    assert version.status_code == 201, version.text
    assert version.json()["captured"] == {"system_fingerprint": FINGERPRINT, "model": "gpt-4o"}
    assert version.json()["created"] is True and version.json()["drift"] is False

    again = api.post(f"/api/prompt-templates/{tid}/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"})
    assert again.status_code == 200
    assert again.json()["id"] == version.json()["id"] and again.json()["created"] is False

    run = api.post(
        f"/api/prompt-templates/{tid}/run",
        json={"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada", "team": "Prompter"}},
    )
    assert run.status_code == 201, run.text
    result = run.json()
    assert result["system_fingerprint"] == FINGERPRINT
    assert result["version_id"] == version.json()["id"]
    assert result["pvk"] == version.json()["pvk"]
    assert result["usage"]["input_tokens"] > 0 and result["usage"]["output_tokens"] > 0
    assert "Hello Ada from Prompter!" in result["output"]

    fetched = api.get(f"/api/prompt-results/{result['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == result

    listed = api.get(f"/api/prompt-templates/{tid}/results").json()
    assert [r["id"] for r in listed["items"]] == [result["id"]]
    versions = api.get(f"/api/prompt-templates/{tid}/versions").json()["items"]
    assert [v["id"] for v in versions] == [version.json()["id"]]


def test_new_body_same_name_is_next_revision(api):
    first = api.post("/api/prompt-templates", json=TEMPLATE).json()
    second = api.post("/api/prompt-templates", json={**TEMPLATE, "body": "Hi {{ name }}"}).json()
    assert (first["revision"], second["revision"]) == (1, 2)
    other_ws = api.post("/api/prompt-templates", json={**TEMPLATE, "workspace_id": "sales"})
    assert other_ws.status_code == 201 and other_ws.json()["revision"] == 1
