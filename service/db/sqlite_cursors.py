"""aiosqlite cursors that close themselves, on aiosqlite's own thread, when a statement fails.

SQLAlchemy's aiosqlite adapter opens a cursor per statement and closes it only when the statement succeeds. When one
raises (a unique violation from a duplicate create, SQLITE_BUSY) the cursor is left to the garbage collector, which may
free it on the event-loop thread: `cursor_dealloc -> sqlite3_reset` then needs the connection's mutex, and if that
connection's worker thread is inside another statement (or SQLite's busy handler) the whole event loop stops until it
returns - seconds, seen with py-spy as `sqlite3_reset <- cursor_dealloc <- gc_collect` while /healthz took 5 s.
Closing the failed cursor right where it failed, in the thread that owns the connection, leaves nothing for the GC.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import aiosqlite


def _run_or_close(cursor: sqlite3.Cursor, method: Callable[..., Any], *args: Any) -> Any:
    """Runs on the connection's thread: the close happens there too, even if the awaiting task was cancelled."""
    try:
        return method(*args)
    except BaseException:
        cursor.close()
        raise


class ClosingCursor(aiosqlite.Cursor):
    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> ClosingCursor:
        await self._execute(
            _run_or_close, self._cursor, self._cursor.execute, sql, [] if parameters is None else parameters
        )
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> ClosingCursor:
        await self._execute(_run_or_close, self._cursor, self._cursor.executemany, sql, parameters)
        return self


async def _closing_cursor(connection: aiosqlite.Connection) -> ClosingCursor:
    return ClosingCursor(connection, await connection._execute(connection._conn.cursor))


def close_cursors_on_error(connection: aiosqlite.Connection) -> None:
    """Make every cursor of this aiosqlite connection a `ClosingCursor` (called from the engine's connect event)."""
    connection.cursor = partial(_closing_cursor, connection)  # type: ignore[method-assign]
