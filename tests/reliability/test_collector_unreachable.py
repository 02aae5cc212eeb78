"""The OTLP collector is unreachable: a closed port, or a port that accepts connections and never answers. Requests
still succeed (telemetry export is off the request path: a background batch processor), nothing surfaces to clients,
the exporter drops and logs, and the app still shuts down promptly (bounded by the exporter timeouts, not a hang).

Latency is reported (printed), not asserted: a latency comparison is a benchmark's job, not a test's.
"""

from __future__ import annotations

import logging
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Self

import httpx
import pytest

from service.settings import Settings
from tests.reliability.live import LiveServer
from tests.support.ports import free_port

TEMPLATE = {"org_id": "acme", "workspace_id": "otel", "name": "greet", "body": "Hello {{ who }}"}
REQUESTS = 60
# A hang detector, not a performance target: shutdown flushes spans and metrics once, each bounded by the exporter
# timeout (5 s), so a stuck collector may cost that much, never forever. Twice the ~10 s worst case: a loaded CI machine
# measured 15.1 s once; a hang is still caught, well before the per-test timeout.
SHUTDOWN_BOUND_S = 30.0


class BlackHole:
    """Accepts TCP connections and never reads or answers: a collector that is up but wedged."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self.thread.join(2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    with BlackHole() as hole:
        yield hole


def _drive(server: LiveServer, workspace: str) -> list[float]:
    """Create a template and run it REQUESTS times; every request must succeed. Returns per-request latencies."""
    latencies = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        created = client.post("/api/prompt-templates", json={**TEMPLATE, "workspace_id": workspace})
        assert created.status_code == 201, created.text
        tid = created.json()["id"]
        for i in range(REQUESTS):
            started = time.perf_counter()
            response = client.post(
                f"/api/prompt-templates/{tid}/run",
                json={"provider": "openai", "model_id": "gpt-4o", "variables": {"who": str(i)}},
            )
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text
        assert client.get("/readyz").status_code == 200
    return latencies


def _run(settings: Settings, workspace: str) -> tuple[list[float], float]:
    server = LiveServer(settings).start()
    try:
        latencies = _drive(server, workspace)
    finally:
        shutdown = server.stop()
    return latencies, shutdown


def _summary(label: str, latencies: list[float], shutdown: float) -> str:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"{label}: median {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"shutdown {shutdown:.2f} s"
    )


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def otel_log() -> Iterator[Records]:
    """What the OTel SDK logs (on its own logger: Litestar's logging setup replaces the root handlers caplog uses)."""
    handler = Records()
    logger = logging.getLogger("opentelemetry")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.mark.slow
@pytest.mark.parametrize("collector", ["closed_port", "black_hole"])
def test_unreachable_collector_never_fails_requests_and_shutdown_is_bounded(collector, pg_url, request, otel_log):
    if collector == "closed_port":
        endpoint = f"http://127.0.0.1:{free_port()}"
    else:
        endpoint = f"http://127.0.0.1:{request.getfixturevalue('black_hole').port}"
    baseline, baseline_shutdown = _run(Settings(db_url=pg_url, db_auto_migrate=True), "baseline")
    otel_log.records.clear()

    # Traces and metrics both pushed to the dead collector.
    latencies, shutdown = _run(
        Settings(db_url=pg_url, db_auto_migrate=True, otel_exporter_otlp_endpoint=endpoint, metrics_export="both"),
        collector,
    )

    assert shutdown < SHUTDOWN_BOUND_S, f"shutdown took {shutdown:.1f}s with the collector at a {collector}"
    # The exporter gave up and said so (drops are logged by the OTel SDK, not raised into requests).
    warnings = otel_log.records
    assert warnings, "the OTLP exporter dropped data without logging anything"
    if collector == "black_hole":
        assert request.getfixturevalue("black_hole").accepted, "the exporter never even connected"
    print()
    print(_summary("baseline (no OTLP)", baseline, baseline_shutdown))
    print(_summary(f"collector {collector}", latencies, shutdown))
    print(f"  {len(warnings)} exporter warning(s); first: {warnings[0].getMessage()[:160]}")
