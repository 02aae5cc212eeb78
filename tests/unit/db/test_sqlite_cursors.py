"""aiosqlite cursors (service/db/sqlite_cursors.py): one trip to the connection's thread per statement, and a failing
statement leaves no open sqlite3 cursor behind for the garbage collector to reset on the event loop."""

from __future__ import annotations

import gc
import sqlite3

import aiosqlite
import pytest

from service.db.sqlite_cursors import OneTripCursor, one_trip_cursors


class Trips:
    """Counts the functions handed to the connection's worker thread."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.count = 0
        original = connection._execute

        async def counted(fn, *args, **kwargs):
            self.count += 1
            return await original(fn, *args, **kwargs)

        connection._execute = counted  # type: ignore[method-assign]


async def open_sqlite_cursors(connection: aiosqlite.Connection) -> list[bool]:
    """For every sqlite3.Cursor still alive: is it open? Checked on the connection's own thread."""

    def is_open(cursor: sqlite3.Cursor) -> bool:
        try:
            cursor.fetchone()
        except sqlite3.ProgrammingError as exc:
            return "closed" not in str(exc)
        return True

    cursors = [o for o in gc.get_objects() if isinstance(o, sqlite3.Cursor)]
    return [await connection._execute(is_open, cursor) for cursor in cursors]


async def test_a_statement_is_one_trip_and_fetches_are_free(tmp_path):
    async with aiosqlite.connect(tmp_path / "t.db") as connection:
        one_trip_cursors(connection)
        await connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        trips = Trips(connection)
        cursor = await connection.cursor()
        assert isinstance(cursor, OneTripCursor)
        await cursor.executemany("INSERT INTO t (name) VALUES (?)", [("a",), ("b",), ("c",)])
        assert cursor.rowcount == 3
        await cursor.execute("INSERT INTO t (name) VALUES (?)", ("d",))
        assert (cursor.lastrowid, cursor.rowcount) == (4, 1)
        await cursor.execute("SELECT id, name FROM t ORDER BY id")
        assert [d[0] for d in cursor.description] == ["id", "name"]
        assert await cursor.fetchone() == (1, "a")
        assert await cursor.fetchmany(2) == [(2, "b"), (3, "c")]
        assert await cursor.fetchall() == [(4, "d")]
        assert await cursor.fetchone() is None
        await cursor.close()
        assert trips.count == 3  # three statements, three trips: nothing for cursor(), fetch*() or close()


async def test_a_failed_statement_leaves_no_open_cursor(tmp_path):
    async with aiosqlite.connect(tmp_path / "t.db") as connection:
        one_trip_cursors(connection)
        cursor = await connection.cursor()
        await cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        await cursor.execute("INSERT INTO t VALUES (1)")

        with pytest.raises(sqlite3.IntegrityError):
            await cursor.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.OperationalError):
            await cursor.executemany("INSERT INTO nowhere VALUES (?)", [(1,)])

        # The traceback keeps the failed cursor alive; it was closed on the connection's thread all the same.
        assert True not in await open_sqlite_cursors(connection)
        assert await cursor.fetchall() == []


async def test_through_sqlalchemy_a_duplicate_insert_leaves_no_open_cursor(tmp_path):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from service.db.engine import create_engine
    from service.settings import Settings

    engine = create_engine(Settings(db_url=f"sqlite:///{tmp_path}/e.db"))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as conn:
            with pytest.raises(IntegrityError):
                await conn.execute(text("INSERT INTO t VALUES (1)"))
            raw = (await conn.get_raw_connection()).driver_connection
            assert True not in await open_sqlite_cursors(raw)
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_connection_checked_in_inside_a_transaction_is_rolled_back_and_others_are_not(tmp_path):
    """pool_reset_on_return=None plus the engine's reset listener: no rollback trip after a commit, but a connection
    that comes back still inside a transaction (holding SQLite's write lock) is rolled back before anyone reuses it."""
    from sqlalchemy import text

    from service.db.engine import create_engine
    from service.settings import Settings

    engine = create_engine(Settings(db_url=f"sqlite:///{tmp_path}/r.db"))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            trips = Trips(driver)
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            await conn.commit()
        assert trips.count == 2  # the statement (with its BEGIN) and the commit; no rollback on check-in

        # A connection checked in while SQLite is inside a write transaction (as a cancelled request could leave it).
        async with engine.connect() as conn:

            def leave_open(sync_conn) -> None:
                cursor = sync_conn.connection.dbapi_connection.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute("INSERT INTO t VALUES (2)")
                cursor.close()

            await conn.run_sync(leave_open)
        async with engine.begin() as conn:  # would fail on the write lock or a nested BEGIN if it had not been reset
            await conn.execute(text("INSERT INTO t VALUES (3)"))
            rows = (await conn.execute(text("SELECT id FROM t ORDER BY id"))).scalars().all()
        assert rows == [1, 3]
    finally:
        await engine.dispose()
