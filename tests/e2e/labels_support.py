"""Helpers for the label tests: the app in-process (TestClient) or under a live uvicorn, and the steps every scenario
repeats."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from litestar.testing import TestClient

from service.app import create_app
from service.providers import ProviderRegistry
from service.settings import Settings
from tests.support.live_server import LiveServer

TENANT = {"org_id": "acme", "workspace_id": "shop"}


@contextmanager
def live_api(db_url: str, registry: ProviderRegistry | None = None, **overrides: Any) -> Iterator[httpx.Client]:
    """A real uvicorn serving the app on `db_url` (migrated at startup), and an httpx client bound to it."""
    settings = Settings(db_url=db_url, db_auto_migrate=True, **overrides)
    app = create_app(settings, providers=registry or ProviderRegistry.fakes())
    with LiveServer(app, backlog=512) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


@contextmanager
def in_process_api(db_url: str, registry: ProviderRegistry | None = None, **overrides: Any) -> Iterator[httpx.Client]:
    """The app on an already migrated `db_url` (migrated_sqlite_url / migrated_pg_url), called in-process: no socket,
    no uvicorn, where HTTP over a socket is not what the test is about. Lifespan runs as in production."""
    overrides.setdefault("db_auto_migrate", False)  # the template database is at head already
    app = create_app(Settings(db_url=db_url, **overrides), providers=registry or ProviderRegistry.fakes())
    with TestClient(app, raise_server_exceptions=False, timeout=30) as client:
        yield client


def create_template(client: httpx.Client, name: str, body: str, headers: dict[str, str] | None = None, **tenant: str):
    response = client.post("/api/prompt-templates", json={"name": name, "body": body, **tenant}, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()


def pin(
    client: httpx.Client,
    template_id: int,
    model_id: str = "gpt-4o",
    headers: dict[str, str] | None = None,
    refresh: bool = False,
    **params: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"provider": "openai", "model_id": model_id, "refresh": refresh}
    if params:
        body["params"] = params
    response = client.post(f"/api/prompt-templates/{template_id}/ensure-version", json=body, headers=headers or {})
    assert response.status_code in (200, 201), response.text
    return response.json()
