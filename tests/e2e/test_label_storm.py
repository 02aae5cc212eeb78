"""A write storm on one label over real PostgreSQL: 300 concurrent PUTs to one label of one workspace, while another
workspace reads its prompt. A move that cannot get the label's lock soon answers 409 `label_busy` (a workspace over
its write slots: 429 `too_many_writes`), both with Retry-After, so no move holds a pooled connection while it waits:
the other workspace gets every read (no 503), and nobody gets a 500."""

from __future__ import annotations

import asyncio
import threading

import httpx

from tests.e2e.labels_support import create_template, live_api, pin

STORM = {"org_id": "storm", "workspace_id": "loud"}
QUIET = {"org_id": "acme", "workspace_id": "quiet"}
PUTS = 300


async def _storm(base_url: str, version_ids: list[int]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=PUTS, max_keepalive_connections=PUTS)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        start = asyncio.Event()

        async def move(index: int) -> httpx.Response:
            await start.wait()
            version_id = version_ids[index % len(version_ids)]
            return await client.put("/api/prompts/greet/labels/staging", json={"version_id": version_id, **STORM})

        tasks = [asyncio.create_task(move(index)) for index in range(PUTS)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def test_a_storm_of_moves_on_one_label_leaves_other_workspaces_served(pg_url: str) -> None:
    with live_api(pg_url) as api:
        loud = create_template(api, "greet", "Hello {{ who }}", **STORM)
        version_ids = [pin(api, loud["id"], temperature=i / 10)["id"] for i in range(4)]
        quiet = create_template(api, "greet", "Hi {{ who }}", **QUIET)
        quiet_version = pin(api, quiet["id"])["id"]
        assert api.put("/api/prompts/greet/labels/production", json={"version_id": quiet_version, **QUIET}).is_success

        storm_done = threading.Event()
        reads: list[int] = []

        def read_quietly() -> None:
            with httpx.Client(base_url=str(api.base_url), timeout=120) as reader:
                while not storm_done.is_set() or len(reads) < 10:
                    reads.append(reader.get("/api/prompts/greet", params=QUIET).status_code)

        reader = threading.Thread(target=read_quietly)
        reader.start()
        try:
            responses = asyncio.run(_storm(str(api.base_url), version_ids))
        finally:
            storm_done.set()
            reader.join()

        statuses = [response.status_code for response in responses]
        refused = [r for r in responses if r.status_code in (409, 429)]
        assert set(statuses) <= {200, 409, 429}, sorted({(r.status_code, r.text[:200]) for r in responses})
        assert statuses.count(200) >= 1
        assert all(r.json()["error"] in {"label_busy", "too_many_writes"} for r in refused)
        assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
        assert set(reads) == {200}, {status: reads.count(status) for status in set(reads)}
        # The label ended where one of the accepted moves put it, and its history holds exactly the accepted moves.
        events = api.get("/api/prompts/greet/labels/staging/history", params={**STORM, "limit": 200}).json()["items"]
        final = api.get("/api/prompts/greet", params={**STORM, "label": "staging"}).json()
        assert final["version"]["id"] == events[0]["to_version_id"]
