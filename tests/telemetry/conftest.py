"""Fixtures for the telemetry tests: a real uvicorn per app (`serve`), and an in-memory span exporter (`span_exporter`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.app import create_app
from service.settings import Settings
from tests.support.live_server import LiveServer


@pytest.fixture
def serve(sqlite_url: str) -> Iterator[Callable[..., str]]:
    """serve(**settings_overrides, app_kwargs={...}) -> base URL of create_app(...) running under uvicorn."""
    servers: list[LiveServer] = []

    def start(*, app_kwargs: dict[str, Any] | None = None, **overrides: Any) -> str:
        overrides.setdefault("db_url", sqlite_url)
        overrides.setdefault("db_auto_migrate", True)
        server = LiveServer(create_app(Settings(**overrides), **(app_kwargs or {})))
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def span_exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A real SDK TracerProvider exporting synchronously into `span_exporter` (pass it via app_kwargs)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def traced(make_client: Callable[..., TestClient], tracer_provider: TracerProvider) -> Callable[..., TestClient]:
    """make_client(...) with the in-memory tracer provider wired in."""

    def build(**overrides: Any) -> TestClient:
        app_kwargs = {"tracer_provider": tracer_provider, **overrides.pop("app_kwargs", {})}
        return make_client(app_kwargs=app_kwargs, **overrides)

    return build
