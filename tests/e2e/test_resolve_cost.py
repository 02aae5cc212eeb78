"""The endpoint clients poll stays cheap: resolving a label is one SELECT (no key lookup with auth off, no second
query for drift) and never calls a provider, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from litestar.testing import TestClient
from sqlalchemy import event

from tests.telemetry.scrape import parse

TENANT = {"org_id": "acme", "workspace_id": "shop"}


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, make_client: Callable[..., TestClient]) -> TestClient:
    # rollout_tick_s: no rollout worker tick among the statements counted here.
    if request.param == "postgresql":
        return make_client(db_url=request.getfixturevalue("pg_url"), rollout_tick_s=3600)
    return make_client(rollout_tick_s=3600)


def llm_calls(client: TestClient) -> float:
    scrape = parse(client.get("/metrics").text)
    return sum(s.value for s in scrape.samples if s.name == "gen_ai_client_operation_duration_seconds_count")


def test_resolve_is_one_select_and_no_provider_call(client: TestClient) -> None:
    template = client.post("/api/prompt-templates", json={**TENANT, "name": "greet", "body": "Hi {{ who }}"}).json()
    version = client.post(
        f"/api/prompt-templates/{template['id']}/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"}
    ).json()
    assert client.put("/api/prompts/greet/labels/production", json={**TENANT, "version_id": version["id"]}).is_success

    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        statements.append(statement)

    engine = client.app.state.runtime.engine.sync_engine
    calls_before = llm_calls(client)
    event.listen(engine, "before_cursor_execute", record)
    try:
        for params in ({}, {"label": "production"}, {"label": "latest"}, {"version_id": version["id"]}):
            statements.clear()
            response = client.get("/api/prompts/greet", params={**TENANT, **params})
            assert response.status_code == 200, response.text
            selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
            assert len(selects) == 1, (params, selects)
            assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert llm_calls(client) == calls_before > 0  # the pin above did call the (fake) provider; resolve never does


def test_a_split_label_resolves_in_two_selects(client: TestClient) -> None:
    ids = []
    for body in ("Hi {{ who }}", "Hello {{ who }}"):
        template = client.post("/api/prompt-templates", json={**TENANT, "name": "greet", "body": body}).json()
        pinned = client.post(
            f"/api/prompt-templates/{template['id']}/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"}
        )
        ids.append(pinned.json()["id"])
    split = [{"version_id": ids[0], "weight": 50}, {"version_id": ids[1], "weight": 50}]
    assert client.put("/api/prompts/greet/labels/production", json={**TENANT, "split": split}).is_success

    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        statements.append(statement)

    engine = client.app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get("/api/prompts/greet", params={**TENANT, "label": "production", "key": "user-1"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200 and len(response.json()["split"]) == 2
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects  # the label, then its arms' versions in one statement
