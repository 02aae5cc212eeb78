"""Engine and session factories. The request-scoped unit of work, its read/write phases and SQLite's writer queue are in
service/db/transactions.py (re-exported here).

"The database cannot serve right now" (refused or timed-out connect, a dropped connection, pool exhaustion, a server
shutting down, statement_timeout) is recognised here (`is_unavailable`) and answered 503 `database_unavailable` with
Retry-After by service/http/errors.py, never a 500; everything else from the database is a bug and stays a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

from service.db.sqlite_cursors import begin_with_next_statement, forget_pending_begin, one_trip_cursors
from service.db.transactions import (  # noqa: F401 - re-exported: the unit of work's public names
    READ_ONLY,
    READS_FIRST,
    WRITE,
    WriteQueue,
    begin_write,
    emit,
    end_reads,
    on_commit,
    unit_of_work,
)
from service.errors import DependencyUnavailable
from service.settings import Settings

log = logging.getLogger("prompter.db")


def async_url(url: str) -> str:
    """Translate the design note's sync URLs (sqlite:///, postgresql://) to their async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"DB_URL {parsed.drivername!r} is not supported; use sqlite:///path or postgresql://...")


def create_engine(settings: Settings, *, for_migrations: bool = False) -> AsyncEngine:
    """The app's engine; `for_migrations`: one connection at a time, without the request timeouts (DDL on a large
    table may rightly take minutes; service.db.migrate bounds its lock waits instead)."""
    url = async_url(settings.db.url)
    if url.startswith("sqlite"):
        # pool_reset_on_return=None: the `reset` listener below rolls back only a connection that comes back inside a
        # transaction, instead of a rollback trip to aiosqlite's thread after every commit.
        # A small pool, no overflow: every connection is a worker thread contending for the GIL, and SQLite has one
        # writer anyway, so 64 concurrent requests queue for one of a few connections (FIFO, on the event loop)
        # instead of 15 threads taking turns. Migrations need one connection; a small pool serves them as well.
        engine = create_async_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": settings.db.pool_timeout_s},
            pool_reset_on_return=None,
            pool_size=settings.db.sqlite_pool_size,
            max_overflow=0,
            pool_timeout=settings.db.pool_timeout_s,
        )
        _configure_sqlite(engine)
        return engine
    if for_migrations:
        return create_async_engine(
            url, hide_parameters=True, poolclass=NullPool, connect_args={"timeout": settings.db.connect_timeout_s}
        )
    engine = create_async_engine(
        url,
        # Statement parameters are customer data (prompts, outputs): keep them out of error messages and logs.
        hide_parameters=True,
        pool_size=settings.db.pool_size,
        max_overflow=settings.db.pool_size,
        pool_timeout=settings.db.pool_timeout_s,
        # A restarted PostgreSQL leaves dead pooled connections behind; pre-ping replaces them transparently.
        pool_pre_ping=True,
        connect_args={
            "timeout": settings.db.connect_timeout_s,
            # The server cancels a slow statement itself (statement_timeout, a clean SQL error); the client-side
            # command_timeout is the backstop for a server that no longer answers at all, so it fires a little later.
            "command_timeout": settings.db.statement_timeout_s + 1,
            "server_settings": {"statement_timeout": str(int(settings.db.statement_timeout_s * 1000))},
        },
    )
    _translate_unavailability(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        one_trip_cursors(dbapi_connection.driver_connection)
        # WAL + synchronous=NORMAL roughly doubles insert throughput and lets readers run beside the writer.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
        # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: Any) -> None:
        # Sessions end their transactions themselves (commit or rollback); a connection checked in while still inside
        # one (a cancelled request) is rolled back here, so the next user never inherits a transaction or the lock.
        if state.terminate_only or not state.asyncio_safe:
            return  # being discarded, or outside the event loop (SQLAlchemy then terminates it)
        forget_pending_begin(dbapi_connection.driver_connection)
        if dbapi_connection.driver_connection._conn.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front (IMMEDIATE): a deferred read-then-write transaction in WAL mode fails at
        # once with SQLITE_BUSY_SNAPSHOT when another writer got in between. Within this process they never wait for
        # it: the WriteQueue lets one writer at a time reach this point. Reading sessions (read_session_factory, or a
        # read-first request before `begin_write`) begin DEFERRED and run in parallel beside the writer.
        options = conn.get_execution_options()
        read_only = options.get(READ_ONLY, False) and not options.get(WRITE, False)
        _begin(conn, "BEGIN" if read_only else "BEGIN IMMEDIATE")


def _begin(conn: Any, statement: str) -> None:
    """BEGIN rides along with the transaction's first statement, in the same trip to aiosqlite's thread
    (service/db/sqlite_cursors.py): one trip less per transaction, and no statement span or execution machinery for
    what is not a statement of the request. A failing BEGIN (another process holding the lock past busy_timeout)
    surfaces from that statement as SQLAlchemy's OperationalError (503 database_unavailable)."""
    begin_with_next_statement(conn.connection.dbapi_connection.driver_connection, statement)


class IntegrityConflict(Exception):
    """A unique constraint rejected the row. Repositories raise this; services turn it into a domain error."""


async def insert_guarded(session: AsyncSession, row: DeclarativeBase) -> None:
    """Insert and flush `row` inside a savepoint, so a constraint violation leaves the transaction usable (PostgreSQL
    would otherwise abort it) and raises `IntegrityConflict` instead of a raw SQLAlchemy error."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except sa_exc.IntegrityError as exc:
        raise IntegrityConflict(str(exc.orig)) from None


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read (GET). Same pool; on SQLite their transactions begin DEFERRED."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def write_queue(engine: AsyncEngine, settings: Settings) -> WriteQueue | None:
    """SQLite's in-process writer queue (service/db/transactions.py); None for PostgreSQL, which has row locks."""
    return WriteQueue(settings.db.write_wait_s) if engine.dialect.name == "sqlite" else None


# SQLSTATEs meaning "the server cannot serve us right now", not "this statement is wrong": 08 connection exception,
# 53 insufficient resources (too many connections), 57P admin/crash shutdown and cannot-connect-now, 57014 a statement
# cancelled by statement_timeout (a stuck or overloaded database).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "57014")
_DRIVER_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.")


def is_unavailable(exc: BaseException) -> bool:
    """True when the error means "the database cannot be reached", not "this statement is wrong"."""
    if isinstance(exc, DependencyUnavailable):
        return exc.code == "database_unavailable"
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection free within db_pool_timeout_s
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        return _unavailable_cause(exc.orig)
    # asyncpg's client-side timeouts and socket errors pass through SQLAlchemy unwrapped (a pre-ping that times out
    # on a frozen server, a command_timeout): they count only when they really came out of the database driver.
    return _unavailable_cause(exc) and _raised_by_driver(exc)


def _unavailable_cause(exc: BaseException | None) -> bool:
    # SQLAlchemy's asyncpg adapter re-wraps the driver's error; the SQLSTATE may sit on it or on its cause.
    for _ in range(4):
        if exc is None:
            return False
        if isinstance(exc, OSError | TimeoutError | asyncpg.exceptions.ConnectionDoesNotExistError):
            return True
        sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        exc = exc.__cause__
    return False


def _raised_by_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(_DRIVER_MODULES):
            return True
        tb = tb.tb_next
    return False


def unavailable_error() -> DependencyUnavailable:
    return DependencyUnavailable(
        "The database is unavailable right now; retry shortly. Operators: check /readyz and the DB_URL server.",
        code="database_unavailable",
        headers={"Retry-After": "2"},
    )


class _Outage:
    """Logs the first failed connect of an outage and the recovery, not one line per request in between."""

    def __init__(self) -> None:
        self.down = False

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            log.warning(
                "database unreachable (%s: %s); answering 503 database_unavailable until it is back",
                type(exc).__name__,
                exc,
            )
        self.down = True

    def connected(self) -> None:
        if self.down:
            log.warning("database reachable again")
        self.down = False


def _translate_unavailability(engine: AsyncEngine) -> None:
    """Name the driver's raw "cannot reach the server" errors where they happen.

    asyncpg raises connect failures (OSError, TimeoutError, CannotConnectNowError, TooManyConnectionsError, ...)
    unwrapped and SQLAlchemy passes them through as they are; at connect time they are certainly the database's, so
    they become `database_unavailable` right there.
    """
    outage = _Outage()

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            connection = dialect.connect(*cargs, **cparams)
        except Exception as exc:
            outage.failed(exc)
            raise unavailable_error() from exc
        outage.connected()
        return connection

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        if context.sqlalchemy_exception is None and isinstance(context.original_exception, OSError | TimeoutError):
            # A statement timed out client-side or its socket died: the connection is in an unknown state (maybe
            # still running the statement), so it is dropped instead of going back to the pool.
            context.is_disconnect = True


def driver_error(exc: BaseException) -> str:
    """`module.Class: message` of the database driver's own error beneath SQLAlchemy's wrapper, e.g.
    `sqlite3.OperationalError: database is locked` or `asyncpg.exceptions.QueryCanceledError: canceling statement due to
    statement timeout`. Only the driver's message (first line, shortened): str() of the SQLAlchemy error would add the
    statement, and the messages of "cannot serve" errors carry no statement parameters."""
    cause: BaseException = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    # SQLAlchemy's asyncpg adapter wraps asyncpg's exception once more; the driver's own error is its cause.
    for _ in range(3):
        inner = cause.__cause__
        if inner is None or not type(inner).__module__.startswith(("asyncpg", "sqlite3", "aiosqlite")):
            break
        cause = inner
    lines = str(cause).strip().splitlines()
    kind = type(cause)
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    return f"{module}{kind.__qualname__}: {lines[0][:300] if lines else '(no message)'}"


def unavailable_because(exc: BaseException) -> DependencyUnavailable:
    """The 503 for an error `is_unavailable` accepted, logged with the driver's error so operators see the cause."""
    log.warning("database unavailable, answering 503 database_unavailable: %s", driver_error(exc))
    return unavailable_error()
