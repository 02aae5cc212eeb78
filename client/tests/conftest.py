"""Fixtures for the client's tests.

unit/  the client against `FakePrompter` (client_helpers.py), an in-memory stand-in for the prompts API behind
       httpx.MockTransport: cache logic, errors, back-off, files; no network.
live/  the client against a real `prompter serve` over HTTP (tests/support/live_server.py, or a subprocess where the
       server must stop and start again).

No __init__.py in these directories on purpose: this one would be a second package named `tests` beside the
service's. Module names are therefore unique (test_client_*.py, client_*.py).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from client_helpers import FakePrompter


@pytest.fixture
def fake() -> FakePrompter:
    return FakePrompter()


@pytest.fixture
def make_prompter(fake: FakePrompter) -> Any:
    """make_prompter(**options) -> a Prompter on the fake, closed after the test."""
    from prompter_client import Prompter

    made: list[Prompter] = []

    def build(**options: Any) -> Prompter:
        options.setdefault("org_id", "acme")
        options.setdefault("workspace_id", "support")
        client = Prompter(base_url="http://prompter.test", transport=httpx.MockTransport(fake.handler), **options)
        made.append(client)
        return client

    yield build
    if fake.gate is not None:
        fake.gate.set()
    for client in made:
        client.close()


@pytest.fixture
def live_url(tmp_path: Any) -> Any:
    """A real Prompter (create_app under uvicorn, in a thread) on a fresh SQLite file, with the fake LLM."""
    from service.app import create_app
    from service.settings import Settings
    from tests.support.live_server import LiveServer

    app = create_app(Settings(db_url=f"sqlite:///{tmp_path}/prompter.db", db_auto_migrate=True))
    with LiveServer(app) as url:
        yield url


@pytest.fixture
def server_process(tmp_path: Any) -> Any:
    """`prompter serve` as a subprocess the test may stop and start again (same port, same database)."""
    from client_live import ServerProcess

    server = ServerProcess(tmp_path)
    try:
        yield server.start()
    finally:
        server.stop()
