"""Per-workspace write slots: how many write requests of one org/workspace may hold a database session at once.

Without a bound one workspace's write storm can hold every pooled connection, and every other workspace then waits
for the pool (and gets 503). Each workspace gets at most `per_tenant` concurrent writes in this process; the others
wait for a slot up to `wait_s` (asleep, holding no connection), then get 429 `too_many_writes` with Retry-After.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Request

from service.auth.guard import current_principal
from service.errors import PrompterError
from service.settings import Settings


class TooManyWrites(PrompterError):
    status, code = 429, "too_many_writes"


class _Slot:
    __slots__ = ("semaphore", "users")

    def __init__(self, size: int) -> None:
        self.semaphore = asyncio.Semaphore(size)
        self.users = 0


class WriteSlots:
    def __init__(self, per_tenant: int, wait_s: float) -> None:
        self.per_tenant = per_tenant
        self.wait_s = wait_s
        self._slots: dict[tuple[str, str], _Slot] = {}

    @asynccontextmanager
    async def hold(self, tenant: tuple[str, str]) -> AsyncIterator[None]:
        slot = self._slots.get(tenant)
        if slot is None:
            slot = self._slots[tenant] = _Slot(self.per_tenant)
        slot.users += 1
        try:
            try:
                await asyncio.wait_for(slot.semaphore.acquire(), self.wait_s)
            except TimeoutError:
                retry = max(1, math.ceil(self.wait_s))
                raise TooManyWrites(
                    f"This workspace already has {self.per_tenant} write requests in progress on this server. "
                    f"Retry after {retry} s, or send fewer writes at once.",
                    headers={"Retry-After": str(retry)},
                ) from None
            try:
                yield
            finally:
                slot.semaphore.release()
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[tenant]  # the table holds only workspaces writing right now


async def request_tenant_of(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """The workspace a write request acts for: its key's (auth on), else the one it names in the query or JSON body.
    A request naming none shares one slot group with the others that name none; the handler then refuses it."""
    principal = current_principal(request)
    if principal is not None:
        return principal.org_id, principal.workspace_id
    org_id, workspace_id = request.query_params.get("org_id"), request.query_params.get("workspace_id")
    if (org_id is None or workspace_id is None) and "json" in request.headers.get("content-type", ""):
        try:
            body = await request.json()
        except Exception:  # a malformed body: the handler answers 400 for it
            body = None
        if isinstance(body, dict):
            org_id = org_id if org_id is not None else body.get("org_id")
            workspace_id = workspace_id if workspace_id is not None else body.get("workspace_id")
    return str(org_id or ""), str(workspace_id or "")


def tenant_write_slots(settings: Settings) -> WriteSlots:
    """A quarter of the pool (pool_size plus as many overflow connections) per workspace, at least 2; a write waits
    for its slot as long as it would wait for a pooled connection."""
    return WriteSlots(per_tenant=max(2, settings.db.pool_size // 2), wait_s=settings.db.pool_timeout_s)
