"""Races on real PostgreSQL through a real server: the database's unique constraints decide, nothing is lost or doubled.

Every request is in flight at the same time (httpx.AsyncClient + asyncio.gather against a live uvicorn), so the
check-then-insert windows in the services really overlap.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import httpx

from tests.reliability.live import scrape

TEMPLATE = {"org_id": "acme", "workspace_id": "race", "name": "greet", "body": "Hello {{ who }} #{{ n }}"}
# 200 simultaneous requests on one server: enough pooled connections that none waits past the pool timeout (which
# would be a correct 503, but not the race under test). 2 x 15 stays well inside PostgreSQL's default 100 connections.
POOL = {"db_pool_size": 15, "db_pool_timeout_s": 15.0}


async def _fire(base_url: str, requests: list[tuple[str, dict]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        return await asyncio.gather(*(client.post(path, json=body) for path, body in requests))


def fire(base_url: str, requests: list[tuple[str, dict]]) -> list[httpx.Response]:
    return asyncio.run(_fire(base_url, requests))


def query(db_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(db_url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def create_template(base_url: str, **overrides: str) -> int:
    response = httpx.post(f"{base_url}/api/prompt-templates", json={**TEMPLATE, **overrides}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_100_identical_creates_make_one_row_one_201_and_99_409(pg_url, live_server):
    server = live_server(db_url=pg_url, **POOL)
    before = scrape(server.url, "prompter_db_unique_violation_total", table="prompt_templates")

    responses = fire(server.url, [("/api/prompt-templates", TEMPLATE)] * 100)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 99}, {s: n for s, n in statuses.items()} | {
        "sample": [r.text for r in responses if r.status_code not in (201, 409)][:3]
    }
    created = next(r.json() for r in responses if r.status_code == 201)
    conflicts = [r.json() for r in responses if r.status_code == 409]
    assert {c["error"] for c in conflicts} == {"duplicate_template"}
    assert {c["existing_id"] for c in conflicts} == {created["id"]}

    rows = query(pg_url, "SELECT id, revision FROM prompt_templates")
    assert [(r["id"], r["revision"]) for r in rows] == [(created["id"], 1)]
    after = scrape(server.url, "prompter_db_unique_violation_total", table="prompt_templates")
    assert after - before == 99


def test_50_concurrent_ensure_versions_for_one_key_make_one_version(pg_url, live_server):
    server = live_server(db_url=pg_url, **POOL)
    tid = create_template(server.url)
    body = {"provider": "openai", "model_id": "gpt-4o", "params": {"temperature": 0.2}}

    responses = fire(server.url, [(f"/api/prompt-templates/{tid}/ensure-version", body)] * 50)

    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 201}, [r.text for r in responses if r.status_code not in (200, 201)][:3]
    assert statuses[201] == 1, statuses
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["pvk"] for r in responses}) == 1
    assert not any(r.json()["drift"] for r in responses)
    rows = query(pg_url, "SELECT id FROM prompt_versions")
    assert [r["id"] for r in rows] == [responses[0].json()["id"]]


def test_200_concurrent_runs_store_200_results_none_lost_or_doubled(pg_url, live_server):
    server = live_server(db_url=pg_url, **POOL)
    tid = create_template(server.url)
    before = scrape(server.url, "prompter_prompt_results_insert_total")
    path = f"/api/prompt-templates/{tid}/run"
    bodies = [{"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "Ada", "n": i}} for i in range(200)]

    responses = fire(server.url, [(path, body) for body in bodies])

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 200}, {s: n for s, n in statuses.items()} | {
        "sample": [r.text for r in responses if r.status_code != 201][:3]
    }
    results = [r.json() for r in responses]
    # Each response is its own row, and it carries the variables of its own request.
    assert len({r["id"] for r in results}) == 200
    assert [r["variables"]["n"] for r in results] == list(range(200))
    # All runs raced on ensure-version too: they share one version.
    assert len({r["version_id"] for r in results}) == 1

    rows = query(
        pg_url,
        "SELECT r.id, r.variables, r.version_id, v.pvk AS version_pvk, r.pvk FROM prompt_results r "
        "JOIN prompt_versions v ON v.id = r.version_id",
    )
    assert sorted(row["id"] for row in rows) == sorted(r["id"] for r in results)
    assert all(row["pvk"] == row["version_pvk"] for row in rows)
    assert query(pg_url, "SELECT count(*) AS n FROM prompt_versions")[0]["n"] == 1
    after = scrape(server.url, "prompter_prompt_results_insert_total")
    assert after - before == 200


def test_concurrent_creates_of_new_bodies_under_one_name_get_distinct_revisions(pg_url, live_server):
    """Different bodies under one name race for the next revision number: every one is stored, revisions 1..n."""
    server = live_server(db_url=pg_url, **POOL)
    bodies = [{**TEMPLATE, "body": f"Body {i} {{{{ who }}}}"} for i in range(30)]

    responses = fire(server.url, [("/api/prompt-templates", body) for body in bodies])

    assert Counter(r.status_code for r in responses) == {201: 30}, [r.text for r in responses if r.status_code != 201][
        :3
    ]
    assert sorted(r.json()["revision"] for r in responses) == list(range(1, 31))
    rows = query(pg_url, "SELECT revision, body FROM prompt_templates")
    assert sorted(row["revision"] for row in rows) == list(range(1, 31))
    assert {row["body"] for row in rows} == {body["body"] for body in bodies}
