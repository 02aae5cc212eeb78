"""Every lifespan shutdown step is bounded: a step that hangs is logged and abandoned, the ones after it still run, and
the app finishes shutting down (before this, one hung close blocked the TestClient's teardown until CI's limit)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.metrics import MeterProvider

from service.app import create_app
from service.providers import ProviderRegistry
from service.settings import Settings


class HungProviders(ProviderRegistry):
    """Provider clients whose close never returns (a socket nobody answers)."""

    def __init__(self) -> None:
        super().__init__(ProviderRegistry.fakes()._adapters)
        self.close_started = False

    async def aclose(self) -> None:
        self.close_started = True
        await asyncio.Event().wait()


class HungMeterProvider(MeterProvider):
    """A meter provider whose shutdown blocks its thread (an exporter stuck on a dead collector)."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release
        self.shutdown_started = threading.Event()

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        self.shutdown_started.set()
        self.release.wait()  # released by the test's teardown, so no thread outlives the test


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("prompter")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_hung_shutdown_steps_are_logged_and_abandoned(sqlite_url: str, records: Records) -> None:
    release = threading.Event()
    providers = HungProviders()
    meter_provider = HungMeterProvider(release)
    try:
        app = create_app(
            Settings(db_url=sqlite_url, shutdown_step_timeout_s=0.2),
            providers=providers,
            meter_provider=meter_provider,
        )
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
        # We got here: the shutdown finished although two of its steps never will, and the steps after the hung
        # provider close still ran (telemetry is the last one).
        assert providers.close_started and meter_provider.shutdown_started.is_set()
        abandoned = [m for m in records.messages if "did not finish within 0.2 s" in m]
        assert any("LLM provider clients close" in m for m in abandoned), records.messages
        assert any("telemetry flush and shutdown" in m for m in abandoned), records.messages
    finally:
        release.set()
