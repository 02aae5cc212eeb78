"""Observations with PROMPTER_AUTH=required: the tenant comes from the key; an `ingest` key may report observations
(API and OTLP) and do nothing else; a `read` key may not report; pruning keeps recent rows and deletes old ones."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.keys import make_key


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_ingest_key_reports_and_does_nothing_else(make_client: Any, sqlite_url: str) -> None:
    client = make_client(auth="required")
    write = bearer(make_key(sqlite_url, "org-a", "ws-a", "write"))
    ingest = bearer(make_key(sqlite_url, "org-a", "ws-a", "ingest"))
    read = bearer(make_key(sqlite_url, "org-a", "ws-a", "read"))
    foreign = bearer(make_key(sqlite_url, "org-b", "ws-b", "ingest"))
    template = client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi"}, headers=write).json()
    version = client.post(
        f"/api/prompt-templates/{template['id']}/ensure-version",
        json={"provider": "openai", "model_id": "gpt-4o"},
        headers=write,
    ).json()
    client.put("/api/prompts/greet/labels/staging", json={"version_id": version["id"]}, headers=write)
    batch = {
        "items": [{"id": "i1", "prompt": "greet", "label": "staging", "provider": "openai", "reported": {"model": "x"}}]
    }

    accepted = client.post("/api/observations", json=batch, headers=ingest)
    assert accepted.status_code == 200 and accepted.json()["accepted"] == 1, accepted.text
    # Another tenant's key sees no such prompt: rejected per item, nothing of org-a is touched.
    theirs = client.post("/api/observations", json={"items": [{**batch["items"][0], "id": "i2"}]}, headers=foreign)
    assert theirs.json()["items"][0]["error"] == "unknown_prompt"
    named = client.post("/api/observations", json={**batch, "org_id": "org-b"}, headers=ingest)
    assert named.status_code == 403 and named.json()["error"] == "tenant_mismatch"

    for method, path in (
        ("GET", "/api/prompts/greet"),
        ("GET", "/api/prompt-templates"),
        ("POST", "/api/prompt-templates"),
    ):
        refused = client.request(
            method, path, json={"name": "x", "body": "y"} if method == "POST" else None, headers=ingest
        )
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden_role", (method, path)
    assert client.post("/api/observations", json=batch, headers=read).status_code == 403
    assert client.post("/api/observations", json=batch).status_code == 401
    assert client.post("/v1/traces", content=b"", headers={"content-type": "application/x-protobuf"}).status_code == 401
    assert client.get("/api/prompts/greet", params={"label": "staging"}, headers=read).json()["drift"] is True


def test_prune_deletes_only_old_observations(make_client: Any, sqlite_url: str) -> None:
    client = make_client()
    tenant = {"org_id": "o", "workspace_id": "w"}
    template = client.post("/api/prompt-templates", json={"name": "p", "body": "b", **tenant}).json()
    version = client.post(
        f"/api/prompt-templates/{template['id']}/ensure-version", json={"provider": "anthropic", "model_id": "c"}
    ).json()
    items = [
        {"id": str(i), "version_id": version["id"], "provider": "anthropic", "reported": {"model": "c"}}
        for i in range(3)
    ]
    assert client.post("/api/observations", json={"items": items, **tenant}).json()["accepted"] == 3
    old = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S.000000")
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE observations SET received_at = ? WHERE obs_id IN ('0', '1')", (old,))
    env = {"DB_URL": sqlite_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "observations", "prune", "--older-than", "30d"],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": ":".join(sys.path)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "deleted 2 observations" in done.stdout
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        assert [row[0] for row in db.execute("SELECT obs_id FROM observations")] == ["2"]
    bad = subprocess.run(
        [sys.executable, "-m", "service.cli", "observations", "prune", "--older-than", "soon"],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": ":".join(sys.path)},
        timeout=120,
    )
    assert bad.returncode == 2 and "not an age" in bad.stderr
