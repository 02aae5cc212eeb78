"""While the process is stopping: /readyz fails (and is not counted as a request error), everything else is still
served, each answer with `Connection: close` (the real-process version: tests/reliability/test_stopping.py)."""

from __future__ import annotations

import re

from service.http import draining


def _readyz_503_series(metrics: str) -> list[str]:
    return [
        line
        for line in metrics.splitlines()
        if line.startswith("starlette_requests_total") and "/readyz" in line and re.search(r'status="503"', line)
    ]


def test_a_stopping_process_fails_readiness_but_serves_and_counts_no_error(client) -> None:
    assert client.get("/readyz").status_code == 200
    draining.begin()
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json() == {"status": "stopping"}
        assert ready.headers["retry-after"] == "2" and ready.headers["connection"] == "close"
        created = client.post(
            "/api/prompt-templates", json={"org_id": "o", "workspace_id": "w", "name": "n", "body": "b"}
        )
        assert created.status_code == 201 and created.headers["connection"] == "close"
        assert client.get("/healthz").status_code == 200
    finally:
        draining.reset()
    metrics = client.get("/metrics").text
    assert "starlette_requests_total" in metrics and not _readyz_503_series(metrics)
    assert client.get("/readyz").headers.get("connection") != "close"
