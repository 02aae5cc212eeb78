"""An archive and a label move racing for the same version, over real HTTP with parallel transactions: never both
win. Either the move lands first and the archive is refused naming the label, or the archive lands first and the move
is refused as an archived target. The same for deleting a prompt while a label moves: the delete takes the label too.
PostgreSQL is the case that matters (row locks); SQLite serializes writers and runs it too."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.labels_support import TENANT, create_template, live_api, pin

ROUNDS = 12


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return request.getfixturevalue("pg_url") if request.param == "postgresql" else sqlite_url


async def _race(
    base_url: str, version_id: int, label: str, *, move_first: bool
) -> tuple[httpx.Response, httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        start = asyncio.Event()

        async def archive() -> httpx.Response:
            await start.wait()
            return await client.post(f"/api/versions/{version_id}/archive")

        async def move() -> httpx.Response:
            await start.wait()
            return await client.put(f"/api/prompts/greet/labels/{label}", json={"version_id": version_id, **TENANT})

        # Which request the loop sends first alternates, so both orders meet the server.
        if move_first:
            moving = asyncio.create_task(move())
            archiving = asyncio.create_task(archive())
        else:
            archiving = asyncio.create_task(archive())
            moving = asyncio.create_task(move())
        await asyncio.sleep(0.02)
        start.set()
        return await archiving, await moving


def test_an_archive_and_a_label_move_never_both_win(db_url: str) -> None:
    with live_api(db_url, db_pool_size=8) as api:
        template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
        outcomes = set()
        for round_ in range(ROUNDS):
            version_id = pin(api, template["id"], temperature=round_ / 10)["id"]
            archived, moved = asyncio.run(
                _race(str(api.base_url), version_id, f"race-{round_}", move_first=round_ % 2 == 1)
            )
            pair = (archived.status_code, moved.status_code)
            assert pair in {(200, 409), (409, 200)}, (archived.text, moved.text)
            if pair == (200, 409):
                assert moved.json()["error"] == "archived_target", moved.text
            else:
                assert archived.json() == {**archived.json(), "error": "archive_labelled", "labels": [f"race-{round_}"]}
            outcomes.add(pair)
            listed = api.get(f"/api/prompt-templates/{template['id']}/versions", params={"include_archived": "true"})
            row = next(v for v in listed.json()["items"] if v["id"] == version_id)
            label = api.get("/api/prompts/greet", params={**TENANT, "label": f"race-{round_}"})
            assert (row["archived_at"] is None) == (label.status_code == 200)  # what is stored agrees too
        print("race outcomes seen:", sorted(outcomes))


async def _delete_while_moving(base_url: str, version_id: int) -> tuple[httpx.Response, httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        start = asyncio.Event()

        async def delete() -> httpx.Response:
            await start.wait()
            return await client.delete("/api/prompts/greet", params={**TENANT, "confirm": "greet"})

        async def move() -> httpx.Response:
            await start.wait()
            return await client.put("/api/prompts/greet/labels/staging", json={"version_id": version_id, **TENANT})

        tasks = [asyncio.create_task(delete()), asyncio.create_task(move())]
        await asyncio.sleep(0.02)
        start.set()
        deleted, moved = await asyncio.gather(*tasks)
        return deleted, moved


def test_a_delete_racing_a_label_move_leaves_no_label_behind(db_url: str) -> None:
    with live_api(db_url, db_pool_size=8) as api:
        for _ in range(4):
            template = create_template(api, "greet", "Hello {{ who }}", **TENANT)
            version_id = pin(api, template["id"])["id"]
            deleted, moved = asyncio.run(_delete_while_moving(str(api.base_url), version_id))
            assert deleted.status_code == 200, deleted.text
            assert moved.status_code in (200, 404), moved.text
            assert deleted.json()["labels"] == (["staging"] if moved.status_code == 200 else [])
            assert api.get("/api/prompts/greet/labels", params=TENANT).status_code == 404
