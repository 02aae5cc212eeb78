"""aiosqlite cursors that make one trip to the connection's thread per statement and never outlive it.

SQLAlchemy's aiosqlite adapter runs a statement as four separate trips to aiosqlite's worker thread - open a cursor,
execute, fetch all rows, close - each a queue hand-off, a thread wake-up and an event-loop wake-up: ~21 trips for one
run, most of the run's CPU beside the reference app. And it closes the cursor only when the statement succeeds: when one
raises (a duplicate create's unique violation, SQLITE_BUSY) the cursor is left to the garbage collector, which may free
it on the event-loop thread, where `cursor_dealloc -> sqlite3_reset` waits for the connection's mutex while its worker
thread sits in another statement or SQLite's busy handler - the whole loop stopped, /healthz included (seen with
py-spy as `sqlite3_reset <- cursor_dealloc <- gc_collect`).

`OneTripCursor` does the four steps in one function on the worker thread - the sqlite3 cursor is opened, executed,
drained and closed there, failure or not - and hands back the rows and the result attributes. Open and close are free
(no trip), fetches read the rows already fetched. Installed on every connection by the engine's connect event. The
transaction's BEGIN (`begin_with_next_statement`, from the engine's begin event) runs in the trip of its first
statement. A run went from 21 trips to 5.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable
from functools import partial
from typing import Any

import aiosqlite

_Result = tuple[list[Any], Any, int | None, int]
_PENDING_BEGIN = "_prompter_pending_begin"


def begin_with_next_statement(connection: aiosqlite.Connection, statement: str) -> None:
    """Run `statement` (BEGIN / BEGIN IMMEDIATE) right before this connection's next statement, in the same trip.
    A transaction that ends with no statement never began in SQLite, which is the same thing."""
    setattr(connection, _PENDING_BEGIN, statement)


def forget_pending_begin(connection: aiosqlite.Connection) -> None:
    """The transaction ended before its first statement: its BEGIN must not leak into the next user's."""
    setattr(connection, _PENDING_BEGIN, None)


def _run(connection: sqlite3.Connection, begin: str | None, many: bool, sql: str, parameters: Any) -> _Result:
    """On the connection's thread: the cursor lives and dies here, whatever happens."""
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return rows, cursor.description, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy's adapter uses, one worker-thread trip per statement."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.lastrowid: int | None = None
        self.rowcount = -1
        self.arraysize = 1

    async def _trip(self, many: bool, sql: str, parameters: Any) -> OneTripCursor:
        connection = self._connection
        begin = getattr(connection, _PENDING_BEGIN, None)
        if begin is not None:
            setattr(connection, _PENDING_BEGIN, None)
        rows, self.description, self.lastrowid, self.rowcount = await connection._execute(
            _run, connection._conn, begin, many, sql, parameters
        )
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneTripCursor:
        return await self._trip(False, sql, [] if parameters is None else parameters)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneTripCursor:
        return await self._trip(True, sql, parameters)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


async def _cursor(connection: aiosqlite.Connection) -> OneTripCursor:
    return OneTripCursor(connection)


def one_trip_cursors(connection: aiosqlite.Connection) -> None:
    """Make every cursor of this aiosqlite connection a `OneTripCursor` (called from the engine's connect event)."""
    connection.cursor = partial(_cursor, connection)  # type: ignore[method-assign, assignment]
