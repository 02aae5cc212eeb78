"""Concurrent writes on SQLite through a real server: they queue in the app (one writer at a time, FIFO), not in
SQLite's busy handler, so nothing is lost or doubled, nothing answers 503, and the event loop keeps serving.

Every request is in flight at once (httpx.AsyncClient + asyncio.gather against a live uvicorn)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import httpx
import pytest

from service.providers import ProviderRegistry
from service.providers.base import PROVIDERS, Completion, CompletionRequest, GenerationParams
from service.providers.fake import FakeProvider

TEMPLATE = {"org_id": "acme", "workspace_id": "sqlite", "name": "greet", "body": "Hello {{ who }} #{{ n }}"}
CONCURRENCY = 64


class CountingProvider(FakeProvider):
    """The fake LLM, counting every call a provider would bill: completions and probes."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.completions = 0
        self.probes = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        self.completions += 1
        await asyncio.sleep(0.01)  # a provider takes a while: the runs really overlap
        return await super().complete(request)

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        self.probes += 1
        return await super().probe(model_id, params)


async def _fire(base_url: str, posts: list[tuple[str, dict]], gets: list[str]) -> tuple[list, list]:
    limits = httpx.Limits(max_connections=len(posts) + len(gets), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        results = await asyncio.gather(
            *(client.post(path, json=body) for path, body in posts), *(client.get(path) for path in gets)
        )
    return list(results[: len(posts)]), list(results[len(posts) :])


def fire(base_url: str, posts: list[tuple[str, dict]], gets: list[str] = ()) -> tuple[list, list]:  # type: ignore[assignment]
    return asyncio.run(_fire(base_url, posts, list(gets)))


def rows(db_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "prompter.db"
    return f"sqlite:///{path}", path


def test_64_identical_creates_are_one_201_and_63_409_and_healthz_keeps_answering(live_server, sqlite_db):
    url, path = sqlite_db
    server = live_server(db_url=url)

    creates, health = fire(server.url, [("/api/prompt-templates", TEMPLATE)] * CONCURRENCY, ["/healthz"] * 16)

    statuses = Counter(r.status_code for r in creates)
    assert statuses == {201: 1, 409: CONCURRENCY - 1}, dict(statuses) | {
        "sample": [r.text for r in creates if r.status_code not in (201, 409)][:3]
    }
    created = next(r.json() for r in creates if r.status_code == 201)
    assert {r.json()["existing_id"] for r in creates if r.status_code == 409} == {created["id"]}
    assert [r.status_code for r in health] == [200] * 16
    assert rows(path, "SELECT id, revision FROM prompt_templates") == [(created["id"], 1)]


def test_64_concurrent_runs_store_64_results_with_one_provider_call_each(live_server, sqlite_db):
    url, path = sqlite_db
    fakes = {name: CountingProvider(name) for name in PROVIDERS}
    server = live_server(db_url=url, app_kwargs={"providers": ProviderRegistry(fakes)})
    tid = httpx.post(f"{server.url}/api/prompt-templates", json=TEMPLATE, timeout=10).json()["id"]
    run = f"/api/prompt-templates/{tid}/run"
    bodies = [{"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "Ada", "n": i}} for i in range(64)]

    responses, health = fire(server.url, [(run, body) for body in bodies], ["/healthz"] * 16)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: CONCURRENCY}, dict(statuses) | {
        "sample": [r.text for r in responses if r.status_code != 201][:3]
    }
    assert [r.status_code for r in health] == [200] * 16
    results = [r.json() for r in responses]
    assert [r["variables"]["n"] for r in results] == list(range(CONCURRENCY))
    stored = rows(path, "SELECT id FROM prompt_results ORDER BY id")
    assert sorted(r["id"] for r in results) == [row[0] for row in stored]  # rows == 201s
    # One provider call per run, no probe; all runs reported one identity, so they share one version.
    assert (fakes["openai"].completions, fakes["openai"].probes) == (CONCURRENCY, 0)
    assert len({r["version_id"] for r in results}) == 1
    assert rows(path, "SELECT count(*) FROM prompt_versions") == [(1,)]


@pytest.mark.parametrize("pool_size", [1, 2])
def test_64_concurrent_runs_reads_and_writes_on_the_smallest_pools_answer_without_errors(
    live_server, sqlite_db, pool_size
):
    """PROMPTER_DB_SQLITE_POOL_SIZE bounds the connections (no overflow): 64 runs, 16 template reads and 8 template
    creates at once queue for them on the event loop; none waits out the pool timeout, none errors."""
    url, path = sqlite_db
    server = live_server(db_url=url, db_sqlite_pool_size=pool_size)
    pool = server.app.state.runtime.engine.pool
    assert (pool.size(), pool._max_overflow) == (pool_size, 0)
    tid = httpx.post(f"{server.url}/api/prompt-templates", json=TEMPLATE, timeout=10).json()["id"]
    run = f"/api/prompt-templates/{tid}/run"
    bodies = [{"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "Ada", "n": i}} for i in range(64)]
    creates = [("/api/prompt-templates", {**TEMPLATE, "name": f"other-{i}"}) for i in range(8)]

    responses, reads = fire(
        server.url, [(run, body) for body in bodies] + creates, [f"/api/prompt-templates/{tid}"] * 16
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: CONCURRENCY + 8}, dict(statuses) | {
        "sample": [r.text for r in responses if r.status_code != 201][:3]
    }
    assert [r.status_code for r in reads] == [200] * 16
    assert rows(path, "SELECT count(*) FROM prompt_results") == [(CONCURRENCY,)]
    assert pool.checkedout() == 0  # every connection came back
