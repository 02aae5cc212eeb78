"""What requests meet while the process stops.

- Readiness: /readyz answers 503 from the moment SIGTERM arrives (StoppingReadiness).
- Draining (after SIGTERM, during PROMPTER_SHUTDOWN_DELAY_S): requests are served as usual, each answer with
  `Connection: close`, so the balancer retires its keep-alive connections to this process one answered request at a
  time instead of finding them closed under a request it just sent.
- Cut (a request still running when PROMPTER_SHUTDOWN_DRAIN_S is over, which uvicorn then cancels): the answer is
  503 `shutting_down` with `Retry-After` instead of uvicorn's bare 500. Its transaction is rolled back (unless the
  cut fell on the commit itself), so it may be retried; with an Idempotency-Key a retry is safe in every case (a
  committed request is answered again from its stored result, not done twice).
"""

from __future__ import annotations

import asyncio
import json
import logging

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.http import draining

log = logging.getLogger("prompter")

RETRY_AFTER_S = 2
READINESS_PATH = "/readyz"
CUT_BODY = json.dumps(
    {
        "error": "shutting_down",
        "detail": "The server stopped while this request was in progress. Retry it (with the same Idempotency-Key "
        "if you sent one).",
    }
).encode()


STOPPING_BODY = json.dumps({"status": "stopping"}).encode()


class StoppingReadiness:
    """While draining, /readyz answers 503 `stopping` here, outside the request metrics: a planned stop is not an
    error of the service, and counting every balancer's and kubelet's probe of a stopping replica would put an error
    spike on the dashboard at every rollout. (A 503 of /readyz for a database outage is measured as usual.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != READINESS_PATH or not draining.active():
            await self.app(scope, receive, send)
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", str(RETRY_AFTER_S).encode()),
            (b"connection", b"close"),
            (b"content-length", str(len(STOPPING_BODY)).encode()),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else STOPPING_BODY})  # type: ignore[arg-type,typeddict-item]


class ShutdownResponses:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if draining.active():
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except asyncio.CancelledError as cancelled:
            # Only a cancellation by the server's shutdown is answered (uvicorn cancels with this message).
            by_shutdown = draining.active() or "shutdown" in " ".join(map(str, cancelled.args))
            if started or not by_shutdown:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            log.warning("request cut by shutdown: answered 503", extra={"path": scope.get("path")})
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", str(RETRY_AFTER_S).encode()),
                        (b"connection", b"close"),
                        (b"content-length", str(len(CUT_BODY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": CUT_BODY})  # type: ignore[arg-type]
