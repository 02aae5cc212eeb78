"""Quiet the OTLP exporters when the collector is unreachable: the first failure is logged, repeats are counted.

Without this, an unreachable collector writes a warning and an error per batch (several per second under load) and
the logs drown. The first failure in each window still gets through, followed by how many were suppressed.
"""

from __future__ import annotations

import logging
import time

EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
)
WINDOW_S = 300.0


class OncePerWindow(logging.Filter):
    def __init__(self, window_s: float = WINDOW_S) -> None:
        super().__init__()
        self.window_s = window_s
        self._window_start: float | None = None
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = time.monotonic()
        if self._window_start is not None and now - self._window_start < self.window_s:
            self.suppressed += 1
            return False
        if self.suppressed:
            record.msg = f"{record.msg} ({self.suppressed} similar export failures suppressed)"
        self._window_start, self.suppressed = now, 0
        return True


def quiet_exporter_logs(window_s: float = WINDOW_S) -> None:
    """One filter per exporter logger (the loggers are process-wide). Called by each new app: its first export failure
    is logged even if an earlier app in the same process (tests) already used up a window."""
    for name in EXPORTER_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, OncePerWindow)]:
            logger.removeFilter(old)
        logger.addFilter(OncePerWindow(window_s))
