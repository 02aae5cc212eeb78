"""Observations on PostgreSQL over real HTTP: concurrent batches carrying the same ids store and count each id once
(ON CONFLICT DO NOTHING, no error, no lost item), and drift appears from them alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.labels_support import TENANT, create_template, live_api, pin


def test_concurrent_retries_are_stored_once(pg_url: str) -> None:
    with live_api(pg_url) as api:
        template = create_template(api, "greet", "Hi {{ who }}", **TENANT)
        version = pin(api, template["id"])
        assert (
            api.put("/api/prompts/greet/labels/production", json={"version_id": version["id"], **TENANT}).status_code
            == 200
        )
        new = {"system_fingerprint": "fp_pg_new", "model": "gpt-4o"}
        items = [
            {"id": f"c{i}", "prompt": "greet", "provider": "openai", "reported": new, "latency_ms": float(i)}
            for i in range(50)
        ]

        def send(_: int) -> dict:
            with httpx.Client(base_url=str(api.base_url), timeout=30) as http:
                response = http.post("/api/observations", json={"items": items, **TENANT})
                assert response.status_code == 200, response.text
                return response.json()

        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(send, range(6)))
        assert sum(r["accepted"] for r in results) == 50
        assert sum(r["duplicate"] for r in results) == 250
        resolved = api.get("/api/prompts/greet", params=TENANT).json()
        assert resolved["drift"] is True and resolved["reported"] == new
        rows = api.get("/api/prompts/greet/labels/production/stats", params=TENANT).json()["versions"]
        assert sum(row["observations"] for row in rows) == 50
        assert [row["latency_ms"]["p50"] for row in rows] == [24.0]  # nearest rank of 0..49
