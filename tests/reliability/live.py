"""A real uvicorn server running `create_app(settings)` in a background thread, for tests that need real concurrency
(many sockets, the real event loop, the real pool) rather than the one-request-at-a-time TestClient.

Kept inside tests/reliability/ on purpose: tests/support/live_server.py (issue 3) may grow its own; this one only has
to start, serve and stop with a measured shutdown.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Self

import httpx
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.settings import Settings
from tests.support.ports import free_port


class LiveServer:
    def __init__(self, settings: Settings, *, app_kwargs: dict[str, Any] | None = None, port: int | None = None,
                 timeout_graceful_shutdown: float = 10) -> None:
        self.settings = settings
        self.app = create_app(settings, **(app_kwargs or {}))
        self.port = port or free_port()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
            timeout_graceful_shutdown=timeout_graceful_shutdown,
            # Plenty of concurrent sockets: the races fire a few hundred requests at once.
            backlog=2048, limit_concurrency=None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)
        self.error: BaseException | None = None
        self.shutdown_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # noqa: BLE001 - reported by start()/stop()
            self.error = exc

    def start(self, timeout: float = 30) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive():
                raise RuntimeError(f"live server failed to start: {self.error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start in time")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 60) -> float:
        """Ask uvicorn to exit (as SIGTERM would) and return how long the shutdown took, lifespan included."""
        if self.shutdown_seconds is not None:
            return self.shutdown_seconds
        started = time.monotonic()
        self.server.should_exit = True
        self.thread.join(timeout)
        self.shutdown_seconds = time.monotonic() - started
        if self.thread.is_alive():
            raise RuntimeError(f"live server still running {timeout}s after shutdown was requested")
        return self.shutdown_seconds

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def metric_total(exposition: str, sample_name: str, **labels: str) -> float:
    """Sum of every sample called `sample_name` whose labels include `labels` (0 when there is none yet)."""
    total = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def scrape(base_url: str, sample_name: str, **labels: str) -> float:
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    response.raise_for_status()
    return metric_total(response.text, sample_name, **labels)
