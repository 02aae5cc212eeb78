"""Engine, session factory and the request-scoped unit of work.

The request owns the transaction: services `flush()`, the `provide_session` dependency commits when the handler returns
and rolls back when it raises. Work that must happen only once the data is durable (counting a committed result) is
registered with `on_commit(session, fn)` and runs after the commit succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc as sa_exc
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from service.errors import DependencyUnavailable
from service.settings import Settings

log = logging.getLogger("prompter.db")

_ON_COMMIT = "prompter_on_commit"


def async_url(url: str) -> str:
    """Translate the design note's sync URLs (sqlite:///, postgresql://) to their async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"DB_URL {parsed.drivername!r} is not supported; use sqlite:///path or postgresql://...")


def create_engine(settings: Settings) -> AsyncEngine:
    url = async_url(settings.db_url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, hide_parameters=True, connect_args={"timeout": settings.db_pool_timeout_s})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        # Statement parameters are customer data (prompts, outputs): keep them out of error messages and logs.
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_s,
        # A restarted PostgreSQL leaves dead pooled connections behind; pre-ping replaces them transparently.
        pool_pre_ping=True,
        connect_args={
            "timeout": settings.db_connect_timeout_s,
            "command_timeout": settings.db_statement_timeout_s,
            "server_settings": {"statement_timeout": str(int(settings.db_statement_timeout_s * 1000))},
        },
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL + synchronous=NORMAL roughly doubles insert throughput and lets readers run beside the writer.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
        # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred read-then-write transaction in WAL mode fails at once
        # with SQLITE_BUSY_SNAPSHOT when another writer got in between, whereas IMMEDIATE waits on busy_timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` after this session's transaction commits (never if it rolls back)."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


async def checkpoint(session: AsyncSession) -> None:
    """Commit what has been flushed so far and hand the connection back to the pool.

    Services call this right before a slow external call (a provider probe or completion): no transaction, row lock or
    pooled connection is held while waiting on an LLM. The next statement opens a new transaction, which the request
    still owns. On-commit callbacks of the committed part run now.
    """
    await session.commit()
    for callback in session.info.pop(_ON_COMMIT, []):
        callback()


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Commit on success, roll back on error, then run the on-commit callbacks. Used by requests and jobs alike."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await _rollback_quietly(session)
            raise
        for callback in session.info.pop(_ON_COMMIT, []):
            callback()


async def _rollback_quietly(session: AsyncSession) -> None:
    session.info.pop(_ON_COMMIT, None)
    try:
        await asyncio.shield(session.rollback())
    except Exception:  # the connection may already be gone; the original error is what matters
        log.debug("rollback failed", exc_info=True)


def is_unavailable(exc: BaseException) -> bool:
    """True when the error means "the database cannot be reached", not "this statement is wrong"."""
    if isinstance(exc, sa_exc.TimeoutError | ConnectionError | asyncio.TimeoutError | TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        orig = exc.orig
        name = type(orig).__name__ if orig is not None else ""
        return "Connection" in name or "CannotConnect" in name or "QueryCanceled" in name
    return isinstance(exc, OSError)


def unavailable_error() -> DependencyUnavailable:
    return DependencyUnavailable(
        "The database is unavailable right now; retry shortly. Operators: check /readyz and the DB_URL server.",
        code="database_unavailable",
        headers={"Retry-After": "2"},
    )
