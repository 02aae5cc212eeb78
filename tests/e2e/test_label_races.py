"""Concurrent moves of one label over real HTTP: last writer wins, every move is recorded with its true `from`, and no
move is lost (a move that finds the label busy answers 409 `label_busy` with Retry-After, and the client retries it).
PostgreSQL is the case that matters (real parallel transactions); SQLite runs it too."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.labels_support import TENANT, create_template, live_api, pin

MOVES = 20


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return request.getfixturevalue("pg_url") if request.param == "postgresql" else sqlite_url


async def _move_all(base_url: str, version_ids: list[int]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        start = asyncio.Event()

        async def move(version_id: int) -> httpx.Response:
            await start.wait()
            while True:
                response = await client.put(
                    "/api/prompts/greet/labels/staging", json={"version_id": version_id, **TENANT, "reason": "race"}
                )
                if response.status_code != 409 or response.json()["error"] != "label_busy":
                    return response
                assert int(response.headers["retry-after"]) >= 1
                await asyncio.sleep(0.05)  # sooner than Retry-After: keeps the test short

        tasks = [asyncio.create_task(move(version_id)) for version_id in version_ids]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def test_concurrent_moves_of_one_label(db_url: str) -> None:
    with live_api(db_url, db_pool_size=MOVES) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        version_ids = [pin(api, template["id"], temperature=i / 10)["id"] for i in range(MOVES)]
        assert len(set(version_ids)) == MOVES

        responses = asyncio.run(_move_all(str(api.base_url), version_ids))

        statuses = [response.status_code for response in responses]
        assert statuses == [200] * MOVES, [r.text for r in responses if r.status_code != 200]
        events = api.get("/api/prompts/greet/labels/staging/history", params={**TENANT, "limit": 200}).json()["items"]
        assert len(events) == MOVES
        chronological = list(reversed(events))
        assert chronological[0]["from_version_id"] is None
        for before, after in zip(chronological, chronological[1:], strict=False):
            assert after["from_version_id"] == before["to_version_id"], (before, after)  # no lost or forked move
        assert sorted(e["to_version_id"] for e in events) == sorted(version_ids)
        final = api.get("/api/prompts/greet", params={**TENANT, "label": "staging"}).json()
        assert final["version"]["id"] == events[0]["to_version_id"]  # the last writer's target
        labels = api.get("/api/prompts/greet/labels", params=TENANT).json()["items"]
        assert [item["label"] for item in labels] == ["latest", "staging"]  # one row, not one per writer
