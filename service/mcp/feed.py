"""The in-process change feed behind `notifications/prompts/list_changed`: committed `PromptListChanged` events (the
unit of work publishes them after commit) reach every MCP session of that workspace that is subscribed here.

A session is told about the changes committed through this process; with REDIS_URL set, `relay` also passes each one
to the other replicas (service/cache/prompt_relay.py), which `deliver` it to their own sessions. Without Redis a change
made through another replica is not pushed; clients still see it on their next prompts/list (docs/how-to/mcp.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telemetry.events import PromptListChanged

log = logging.getLogger("prompter.mcp")

Notify = Callable[[], Awaitable[None]]
Workspace = tuple[str, str]
Relay = Callable[[str, str, str], None]


class PromptFeed:
    def __init__(self) -> None:
        self._subscribers: dict[Workspace, dict[object, Notify]] = {}
        self._pending: set[asyncio.Task[None]] = set()
        # Where committed changes also go for the other replicas (set by the app when Redis is configured).
        self.relay: Relay | None = None

    def subscribe(self, org_id: str, workspace_id: str, notify: Notify) -> Callable[[], None]:
        """Call `notify` after every committed change of this workspace's prompts; returns the idempotent unsubscribe."""
        token = object()
        key = (org_id, workspace_id)
        self._subscribers.setdefault(key, {})[token] = notify

        def unsubscribe() -> None:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.pop(token, None)
                if not subscribers:
                    self._subscribers.pop(key, None)

        return unsubscribe

    def subscribers(self, org_id: str, workspace_id: str) -> int:
        return len(self._subscribers.get((org_id, workspace_id), {}))

    def publish(self, event: object) -> None:
        """Called by the unit of work after commit, on the event loop. Never raises, never blocks the request: each
        notification is sent by its own task."""
        if not isinstance(event, PromptListChanged):
            return
        self.deliver(event.org_id, event.workspace_id)
        relay = self.relay
        if relay is not None:
            try:
                relay(event.org_id, event.workspace_id, event.name)
            except Exception:  # noqa: BLE001 - the other replicas miss it; this one was told
                log.debug("prompt list change not relayed", exc_info=True)

    def deliver(self, org_id: str, workspace_id: str) -> None:
        """Tell this process's sessions of the workspace (a change committed here, or relayed from another replica)."""
        subscribers = list(self._subscribers.get((org_id, workspace_id), {}).values())
        if not subscribers:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a unit of work outside the server's loop (a CLI job): nobody to tell here
            return
        for notify in subscribers:
            task = loop.create_task(self._send(notify))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _send(self, notify: Notify) -> None:
        try:
            await notify()
        except Exception:  # noqa: BLE001 - one broken session must not affect the others
            log.debug("list_changed notification failed", exc_info=True)

    async def aclose(self) -> None:
        """Cancel notifications still being sent (the sessions are closing anyway)."""
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        self._subscribers.clear()
