"""A failing statement's aiosqlite cursor is closed at once, on the connection's own thread, never left to the GC."""

from __future__ import annotations

import sqlite3

import aiosqlite
import pytest

from service.db.sqlite_cursors import ClosingCursor, close_cursors_on_error


async def test_a_failed_execute_closes_its_cursor(tmp_path):
    async with aiosqlite.connect(tmp_path / "t.db") as connection:
        close_cursors_on_error(connection)
        await connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        await connection.execute("INSERT INTO t VALUES (1)")
        cursor = await connection.cursor()
        assert isinstance(cursor, ClosingCursor)

        with pytest.raises(sqlite3.IntegrityError):
            await cursor.execute("INSERT INTO t VALUES (1)")

        # Closed: nothing is left for the garbage collector to reset on whatever thread it runs.
        with pytest.raises(sqlite3.ProgrammingError, match="closed cursor"):
            await cursor.fetchall()


async def test_a_failed_executemany_closes_its_cursor_and_a_good_one_stays_usable(tmp_path):
    async with aiosqlite.connect(tmp_path / "t.db") as connection:
        close_cursors_on_error(connection)
        await connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        good = await connection.cursor()
        await good.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
        await good.execute("SELECT count(*) FROM t")
        assert await good.fetchall() == [(2,)]

        bad = await connection.cursor()
        with pytest.raises(sqlite3.IntegrityError):
            await bad.executemany("INSERT INTO t VALUES (?)", [(3,), (1,)])
        with pytest.raises(sqlite3.ProgrammingError, match="closed cursor"):
            await bad.fetchall()
