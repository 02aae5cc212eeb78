"""`prompter serve`: uvicorn, configured from Settings, stopping in the order a balancer needs.

On SIGTERM (docs/security-operations.md, "Stopping a replica"):
1. /readyz answers 503 at once, and for PROMPTER_SHUTDOWN_DELAY_S every request is still served, each answer with
   `Connection: close` - the balancer's health check takes the replica out while nothing is refused yet.
2. Then uvicorn stops accepting, closes idle keep-alive connections and lets in-flight requests finish for up to
   PROMPTER_SHUTDOWN_DRAIN_S; whatever is still running after that answers 503 with Retry-After.
3. The app's own shutdown (Redis, provider clients, database pool, telemetry flush) runs last.
A second SIGTERM (or Ctrl-C) skips the delay.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import uvicorn

from service.http import draining
from service.settings import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings that follow from ours (the test servers use the same ones)."""
    return {
        # Trust X-Forwarded-For/-Proto only from these peers: the client address (login limits) and https (Secure
        # cookies, the UI's same-origin check) come from the proxy, never from whoever connects directly.
        "proxy_headers": True,
        "forwarded_allow_ips": settings.server.forwarded_allow_ips,
        "timeout_keep_alive": settings.server.keep_alive_s,
        "timeout_graceful_shutdown": settings.server.shutdown_drain_s,
    }


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose first SIGTERM fails readiness and keeps serving for `delay_s` before the usual shutdown."""

    def __init__(self, config: uvicorn.Config, delay_s: float) -> None:
        super().__init__(config)
        self.delay_s = delay_s
        self._delay: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._delay is not None or self.delay_s <= 0 or sig != signal.SIGTERM:
            if self._delay is not None:
                self._delay.cancel()
            draining.begin()
            super().handle_exit(sig, frame)
            return
        draining.begin()
        self._delay = threading.Timer(self.delay_s, super().handle_exit, (sig, frame))
        self._delay.daemon = True
        self._delay.start()


def run(settings: Settings, host: str, port: int, workers: int, log_config: dict[str, Any]) -> None:
    options = {
        "host": host,
        "port": port,
        "log_level": settings.telemetry.log_level.lower(),
        "log_config": log_config,
        **uvicorn_options(settings),
    }
    if workers > 1:
        # uvicorn's supervisor runs its own servers in the worker processes: no readiness delay there.
        uvicorn.run("service.asgi:app", factory=True, workers=workers, **options)
        return
    config = uvicorn.Config("service.asgi:app", factory=True, **options)
    DrainingServer(config, settings.server.shutdown_delay_s).run()
