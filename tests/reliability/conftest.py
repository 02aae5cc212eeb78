"""Fixtures for the reliability suite: a live uvicorn server per test (real sockets, real concurrency) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.settings import Settings
from tests.reliability.live import LiveServer


@pytest.fixture
def live_server() -> Iterator[Callable[..., LiveServer]]:
    """live_server(db_url=..., **settings_overrides, app_kwargs={...}) -> a started LiveServer, stopped after the test."""
    servers: list[LiveServer] = []

    def start(*, app_kwargs: dict[str, Any] | None = None, **overrides: Any) -> LiveServer:
        overrides.setdefault("db_auto_migrate", True)
        server = LiveServer(Settings(**overrides), app_kwargs=app_kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
