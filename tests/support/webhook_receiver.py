"""A real HTTP webhook receiver for tests: a ThreadingHTTPServer on 127.0.0.1 (a free port chosen by the OS) that keeps
every request it answered 2xx, and can be told to fail (`status = 503`), to hang (`hang = True`) or to go away and
come back on the same port (`stop()` / `start()`, so the sender sees refused connections in between). Only requests
it answered 2xx count as received."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True, slots=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, path: str = "/hook") -> None:
        self.path = path
        self.port = 0
        self.status = 204
        self.hang = False
        self.drop_hung = False  # a request held by `hang` is never answered nor recorded, even once released
        self.hung = 0  # requests that arrived while hanging
        self.received: list[Received] = []
        self.refused_while_failing = 0  # requests answered with a non-2xx status
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if receiver.hang:
                    with receiver._lock:
                        receiver.hung += 1
                    receiver._release.wait(60)
                    if receiver.drop_hung:
                        self.close_connection = True
                        return  # never answered: the sender saw no outcome
                status = receiver.status
                with receiver._lock:
                    if 200 <= status < 300:
                        receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                    else:
                        receiver.refused_while_failing += 1
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"receiver-{self.port}", daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        """Stop hanging: held requests go on (or are dropped, with `drop_hung`), new ones are answered at once."""
        self.hang = False
        self._release.set()

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._release = threading.Event()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def events(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every received body, each checked against its signature headers (raises on a bad one)."""
        return [Webhook(secret).verify(item.body, item.headers) for item in self.events()]


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)
