"""Serve an ASGI app (e.g. `create_app(settings)`) under a real uvicorn on 127.0.0.1 in a background thread.

Tests that must go over real HTTP (a scraper's view of /metrics, timeouts, concurrent clients) use it:

    with LiveServer(create_app(settings)) as base_url:
        httpx.get(f"{base_url}/metrics")

The socket is bound here (port 0) and handed to uvicorn, so there is no race for a "free" port. The app's lifespan runs
(startup before `__enter__` returns, shutdown on `__exit__`), exactly as under `prompter serve`.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


class LiveServer:
    def __init__(self, app: Any, *, host: str = "127.0.0.1", startup_timeout_s: float = 20.0, **uvicorn_options: Any):
        self.app = app
        self.host = host
        self.startup_timeout_s = startup_timeout_s
        options = {"log_level": "warning", "lifespan": "on", "access_log": False, **uvicorn_options}
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, **options))
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"uvicorn exited during startup (lifespan failed?): {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start within {self.startup_timeout_s}s")
            time.sleep(0.01)
        return self.url

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self._socket])
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc

    def stop(self, timeout_s: float = 20.0) -> None:
        """Graceful shutdown: in-flight requests finish, then the app's lifespan shutdown runs."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self.server.force_exit = True
                self._thread.join(5)
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None):
        self.stop()
