"""The reliability suite's live server: tests.support.live_server.LiveServer (a real uvicorn in a background thread on
a socket it binds itself) around `create_app(settings)`, plus the measured shutdown the outage tests report.
"""

from __future__ import annotations

import time
from typing import Any, Self

import httpx
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.settings import Settings
from tests.support import live_server


class LiveServer(live_server.LiveServer):
    def __init__(self, settings: Settings, *, app_kwargs: dict[str, Any] | None = None) -> None:
        # A deep accept backlog: the races open a few hundred connections at once.
        super().__init__(create_app(settings, **(app_kwargs or {})), timeout_graceful_shutdown=10, backlog=2048)
        self.settings = settings
        self.shutdown_seconds: float | None = None

    def start(self) -> Self:  # type: ignore[override]
        super().start()
        return self

    def stop(self, timeout_s: float = 60.0) -> float:  # type: ignore[override]
        """Graceful shutdown (as on SIGTERM), lifespan included; returns how long it took."""
        if self.shutdown_seconds is None:
            started = time.monotonic()
            super().stop(timeout_s)
            self.shutdown_seconds = time.monotonic() - started
        return self.shutdown_seconds

    def __enter__(self) -> Self:  # type: ignore[override]
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
