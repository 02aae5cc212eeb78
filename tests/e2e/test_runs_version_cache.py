"""Runs with the per-process version cache warm (service/versions/cache.py) record exactly the version the database
would have given them: the same one for the same identity, a new one when the identity, params or tenant differ, and a
fresh one after the cached row was deleted behind this process's back. On SQLite and on real PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from service.providers import ProviderRegistry

BODY = "Hello {{ name }}!"
RUN = {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada"}}


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, sqlite_url: str) -> dict[str, Any]:
    if request.param == "sqlite":
        return {"url": sqlite_url, "settings": {}}
    url = request.getfixturevalue("pg_url")
    return {"url": url, "settings": {"db_url": url, "db_auto_migrate": True}}


@pytest.fixture
def registry() -> ProviderRegistry:
    return ProviderRegistry.fakes()


@pytest.fixture
def api(make_client, db, registry):
    return make_client(app_kwargs={"providers": registry}, **db["settings"])


def template(api, org: str = "acme", workspace: str = "support") -> int:
    created = api.post(
        "/api/prompt-templates", json={"org_id": org, "workspace_id": workspace, "name": "g", "body": BODY}
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def run(api, tid: int, **extra: Any) -> dict[str, Any]:
    response = api.post(f"/api/prompt-templates/{tid}/run", json={**RUN, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def cache_of(api) -> Any:
    return api.app.state.runtime.version_cache


def test_warm_cache_records_the_version_of_the_identity_that_answered(api, registry):
    tid = template(api)
    first = run(api, tid)
    assert len(cache_of(api)) == 1  # filled once the run committed
    again = run(api, tid)
    assert again["version_id"] == first["version_id"] and again["pvk"] == first["pvk"]

    registry.get("openai").set_identity("fp_rebuilt")  # the provider swaps the build behind gpt-4o
    rebuilt = run(api, tid)
    assert rebuilt["version_id"] != first["version_id"]
    assert rebuilt["system_fingerprint"] == "fp_rebuilt"

    warmer = run(api, tid, params={"temperature": 0.5})  # other params: another lineage, another version
    assert warmer["version_id"] not in (first["version_id"], rebuilt["version_id"])

    registry.get("openai").set_identity(None)  # the old build answers again: its version, from the cache
    back = run(api, tid)
    assert back["version_id"] == first["version_id"] and back["pvk"] == first["pvk"]

    versions = {v["id"]: v for v in api.get(f"/api/prompt-templates/{tid}/versions").json()["items"]}
    assert set(versions) == {first["version_id"], rebuilt["version_id"], warmer["version_id"]}
    assert versions[rebuilt["version_id"]]["drift"] is True and versions[first["version_id"]]["drift"] is False
    for result in (first, again, rebuilt, warmer, back):  # every stored result points at its own version's pvk
        stored = api.get(f"/api/prompt-results/{result['id']}").json()
        assert stored["version_id"] == result["version_id"]
        assert versions[stored["version_id"]]["pvk"] == stored["pvk"]


def test_another_tenant_with_the_same_prompt_gets_its_own_version(api):
    ours, theirs = template(api, "acme", "support"), template(api, "globex", "support")
    mine = run(api, ours)
    run(api, ours)  # warm
    other = run(api, theirs)

    assert other["pvk"] == mine["pvk"]  # the same content, provider, model, params and identity ...
    assert other["version_id"] != mine["version_id"]  # ... but each template's own version row
    assert [v["id"] for v in api.get(f"/api/prompt-templates/{theirs}/versions").json()["items"]] == [
        other["version_id"]
    ]


async def _pg_delete(url: str, version_id: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute("DELETE FROM prompt_versions WHERE id = $1", version_id)
    finally:
        await conn.close()


def delete_version(db: dict[str, Any], version_id: int) -> None:
    """Another process deletes the version (and, by cascade, its results): this app's cache does not know."""
    if db["url"].startswith("sqlite"):
        with sqlite3.connect(db["url"].removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("DELETE FROM prompt_versions WHERE id = ?", (version_id,))
        return
    asyncio.run(_pg_delete(db["url"], version_id))


def test_a_version_deleted_elsewhere_is_read_again_after_one_failed_run(api, db):
    tid = template(api)
    first = run(api, tid)
    delete_version(db, first["version_id"])

    failed = api.post(f"/api/prompt-templates/{tid}/run", json=RUN)  # the stale entry: the insert's foreign key refuses
    assert failed.status_code >= 500
    # no half-written row: only the first run's result, which outlives its version (its version_id is now null)
    kept = api.get(f"/api/prompt-templates/{tid}/results").json()["items"]
    assert [(r["id"], r["version_id"]) for r in kept] == [(first["id"], None)]

    again = run(api, tid)  # the entry was forgotten: the version is created again, and the result points at it
    versions = api.get(f"/api/prompt-templates/{tid}/versions").json()["items"]
    assert [(v["id"], v["pvk"]) for v in versions] == [(again["version_id"], first["pvk"])]
    results = api.get(f"/api/prompt-templates/{tid}/results").json()["items"]
    assert sorted(r["id"] for r in results) == sorted([first["id"], again["id"]])
