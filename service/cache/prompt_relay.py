"""Prompt list changes across replicas, through Redis pub/sub: with REDIS_URL set, each replica publishes the
PromptListChanged events committed through it, and hands the ones the other replicas publish to its own MCP sessions
(service/mcp/feed.py). Without Redis, or while it is down, a replica's sessions hear only its own changes.

Best effort by design: a notification only tells a client to list again. A publish that fails is logged and dropped;
the listener reconnects with a capped back-off (not a request's latency: it runs in the background).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from telemetry.quiet import untraced

log = logging.getLogger("prompter.cache")

CHANNEL = "prompter:prompt-list-changed"
POLL_S = 1.0
BACKOFF_S = (0.1, 5.0)

Deliver = Callable[[str, str], None]


class PromptRelay:
    def __init__(self, client: Redis, deliver: Deliver) -> None:
        self.client = client
        self.deliver = deliver
        self.origin = uuid.uuid4().hex  # this replica: its own messages come back and are skipped
        self._listener: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        self._listener = asyncio.get_running_loop().create_task(self._listen(), name="prompter-prompt-relay")

    def publish(self, org_id: str, workspace_id: str, name: str) -> None:
        """Called on the event loop after a commit; never raises, never waits for Redis."""
        payload = json.dumps({"origin": self.origin, "org_id": org_id, "workspace_id": workspace_id, "name": name})
        task = asyncio.get_running_loop().create_task(self._publish(payload))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, payload: str) -> None:
        try:
            with untraced():  # background fan-out after the request committed: not a step of any request's trace
                await self.client.publish(CHANNEL, payload)
        except Exception as exc:  # noqa: BLE001 - Redis down: only other replicas' sessions miss it
            log.debug("prompt list change not relayed: %s", exc)

    async def _listen(self) -> None:
        delay = BACKOFF_S[0]
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                with untraced():
                    await pubsub.subscribe(CHANNEL)
                    self.subscribed.set()
                    delay = BACKOFF_S[0]
                    while True:
                        message = await pubsub.get_message(timeout=POLL_S)
                        if message is not None:
                            self._received(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect below
                self.subscribed.clear()
                log.warning("prompt list relay lost Redis, retrying in %.1f s (%s)", delay, exc)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_S[1])

    def _received(self, data: Any) -> None:
        try:
            message = json.loads(data)
            if message["origin"] == self.origin:
                return
            org_id, workspace_id = message["org_id"], message["workspace_id"]
        except (TypeError, ValueError, KeyError):
            log.debug("ignored a malformed prompt relay message: %r", data)
            return
        if isinstance(org_id, str) and isinstance(workspace_id, str):
            self.deliver(org_id, workspace_id)

    async def aclose(self) -> None:
        tasks = [task for task in (self._listener, *self._pending) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
