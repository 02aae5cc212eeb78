"""The request's session: one unit of work per request (service/db/transactions.py), in the phase its route needs.

Decided here, and only here: GETs only read. Other requests write from the start, or, when their route is flagged
`opt={READS_FIRST: True}` (a run, a run through a label, ensure-version), read first; their service then ends the
reads before the provider call and opens its one short write transaction (`begin_write`) after the provider answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.guard import READ_METHODS
from service.db.transactions import READS_FIRST, unit_of_work
from service.http.runtime import runtime_of
from service.http.write_slots import request_tenant_of

__all__ = ["DEPENDENCIES", "READS_FIRST", "provide_session", "reads_first"]


def reads_first(request: Request[Any, Any, Any]) -> bool:
    return request.method in READ_METHODS or bool(request.route_handler.opt.get(READS_FIRST))


async def provide_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    # No error mapping here: an exception this generator raises while the handler's own error unwinds through it
    # reaches Litestar wrapped in an ExceptionGroup (a 500). DB errors are mapped by service/http/errors.py.
    runtime = runtime_of(request)
    if reads_first(request):
        factory, writes_first = runtime.read_sessions, False
    else:
        factory, writes_first = runtime.sessions, True
    if writes_first and runtime.write_slots is not None:  # PostgreSQL: bound each workspace's share of the pool
        async with runtime.write_slots.hold(await request_tenant_of(request)):
            async with unit_of_work(
                factory, runtime.write_queue, writes_first=writes_first, publish=runtime.publish
            ) as session:
                yield session
        return
    async with unit_of_work(
        factory, runtime.write_queue, writes_first=writes_first, publish=runtime.publish
    ) as session:
        yield session


DEPENDENCIES = {"session": Provide(provide_session)}
