"""Fixtures for the provider adapter tests: a real local HTTP server per test, and adapters pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from service.providers.anthropic import AnthropicProvider
from service.providers.google import GoogleProvider
from service.providers.http import HTTPPolicy
from service.providers.openai import OpenAIProvider
from tests.integration.providers.wire_server import FAST, SECRET, WireServer, base_url


@pytest.fixture
def wire() -> Iterator[WireServer]:
    server = WireServer().start()
    try:
        yield server
    finally:
        server.stop()


BUILDERS: dict[str, Callable[[str, str, HTTPPolicy], Any]] = {
    "openai": OpenAIProvider,
    "anthropic": AnthropicProvider,
    "google": GoogleProvider,
}


@pytest.fixture
async def make_adapter(wire: WireServer) -> AsyncIterator[Callable[..., Any]]:
    adapters: list[Any] = []

    def build(provider: str, policy: HTTPPolicy = FAST, url: str | None = None) -> Any:
        adapter = BUILDERS[provider](SECRET, url or base_url(provider, wire), policy)
        adapters.append(adapter)
        return adapter

    yield build
    for adapter in adapters:
        await adapter.aclose()
