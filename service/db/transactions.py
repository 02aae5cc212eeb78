"""The request-scoped unit of work, its read and write phases, and SQLite's in-process writer queue.

The request owns the transaction: services `flush()`, `unit_of_work` commits when the handler returns and rolls back when
it raises. What happened (a result stored, a label moved) a service adds as a domain event with `emit(session, event)`:
the unit of work collects them and publishes them once the commit succeeded (never after a rollback), as
cosmicpython's message bus does; telemetry/events.py decides how each is measured. `on_commit(session, fn)` is the
general hook beneath it.

Phases. A session is either reading (on SQLite: `BEGIN` DEFERRED, any number in parallel under WAL) or writing (`BEGIN
IMMEDIATE`, SQLite's single write lock). A write request starts writing at once (`writes_first=True`), unless its
route reads first: then the service reads, calls `end_reads` before a slow external call (an LLM) so no transaction or
pooled connection is held meanwhile, and opens its one short write transaction with `begin_write`.

The writer queue. SQLite has one write lock per database file; when several connections want it, the losers sleep in
SQLite's busy handler (back-off sleeps of up to 100 ms each, up to busy_timeout), which wastes most of the time under
load and can hold a connection's mutex for seconds. Instead every write transaction of this process first waits its
turn in a FIFO `WriteQueue` (an asyncio.Lock: waiters are woken in arrival order), so concurrency costs queueing on the
event loop, never a sleep in SQLite and never a blocked loop. PostgreSQL has row locks and gets no queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.errors import DependencyUnavailable

log = logging.getLogger("prompter.db")

_ON_COMMIT = "prompter_on_commit"
_PUBLISH = "prompter_publish"
_QUEUE = "prompter_write_queue"
_HOLDS_QUEUE = "prompter_holds_write_queue"
# Execution options the SQLite `begin` listener reads (service/db/engine.py).
READ_ONLY = "prompter_read_only"
WRITE = "prompter_write"
# A route handler's `opt` flag: its request session starts reading (service/http/session.py decides) and the service
# calls `begin_write` itself.
READS_FIRST = "prompter_reads_first"


class WriteQueue:
    """One write transaction at a time, first come first served, waiting on the event loop (SQLite only)."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self._lock = asyncio.Lock()

    async def enter(self) -> None:
        try:
            async with asyncio.timeout(self.wait_s):
                await self._lock.acquire()
        except TimeoutError:
            raise DependencyUnavailable(
                f"The database's write queue did not free up within {self.wait_s:g} s (PROMPTER_DB_WRITE_WAIT_S); "
                "retry shortly.",
                code="database_unavailable",
                headers={"Retry-After": "2"},
            ) from None

    def leave(self) -> None:
        self._lock.release()

    @property
    def busy(self) -> bool:
        return self._lock.locked()


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` after this session's transaction commits (never if it rolls back)."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


def emit(session: AsyncSession, event: object) -> None:
    """Publish `event` once this session's transaction committed (dropped if it rolls back, or when the unit of work
    was opened without a publisher)."""
    publish: Callable[[object], None] | None = session.info.get(_PUBLISH)
    if publish is not None:
        on_commit(session, lambda: publish(event))


async def end_reads(session: AsyncSession) -> None:
    """End the current transaction (committing what was flushed) and hand the connection back to the pool.

    Called right before a slow external call (a provider probe or completion): no transaction, lock or pooled connection
    is held while waiting on an LLM. On-commit callbacks of the committed part run now; the writer queue, if this
    session held it, is released."""
    try:
        await session.commit()
    finally:
        _leave_queue(session)
    _run_on_commit(session)


async def begin_write(session: AsyncSession) -> None:
    """Start this session's write transaction: end any read transaction, wait for the writer queue (SQLite), then
    `BEGIN IMMEDIATE`. It lasts until the request's unit of work commits or rolls back."""
    if session.info.get(_HOLDS_QUEUE):
        return
    if session.in_transaction():
        await end_reads(session)
    await _enter_queue(session)
    await session.connection(execution_options={WRITE: True})


@asynccontextmanager
async def unit_of_work(
    factory: async_sessionmaker[AsyncSession],
    queue: WriteQueue | None = None,
    *,
    writes_first: bool = True,
    publish: Callable[[object], None] | None = None,
) -> AsyncIterator[AsyncSession]:
    """Commit on success, roll back on error, then run the on-commit callbacks and publish the domain events. Used by
    requests and jobs alike.

    `queue` (SQLite): write transactions wait their turn in it. `writes_first=False`: the session starts reading and the
    service calls `begin_write` for its write transaction. `publish`: where the committed events go (telemetry)."""
    async with factory() as session:
        session.info[_QUEUE] = queue
        session.info[_PUBLISH] = publish
        try:
            if writes_first:
                await _enter_queue(session)
            yield session
            await session.commit()
        except BaseException:
            await _rollback_quietly(session)
            raise
        finally:
            _leave_queue(session)
        _run_on_commit(session)


async def _enter_queue(session: AsyncSession) -> None:
    queue: WriteQueue | None = session.info.get(_QUEUE)
    if queue is not None and not session.info.get(_HOLDS_QUEUE):
        await queue.enter()
        session.info[_HOLDS_QUEUE] = True


def _leave_queue(session: AsyncSession) -> None:
    if session.info.pop(_HOLDS_QUEUE, False):
        session.info[_QUEUE].leave()


def _run_on_commit(session: AsyncSession) -> None:
    for callback in session.info.pop(_ON_COMMIT, []):
        callback()


async def _rollback_quietly(session: AsyncSession) -> None:
    session.info.pop(_ON_COMMIT, None)
    try:
        await asyncio.shield(session.rollback())
    except Exception:  # the connection may already be gone; the original error is what matters
        log.debug("rollback failed", exc_info=True)
