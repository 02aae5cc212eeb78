"""SQLite's pool: PROMPTER_DB_SQLITE_POOL_SIZE connections, no overflow, PROMPTER_DB_POOL_TIMEOUT_S to wait for one."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import exc as sa_exc

from service.db.engine import create_engine, is_unavailable
from service.settings import Settings


def test_default_is_four_connections_without_overflow(sqlite_url):
    engine = create_engine(Settings(db_url=sqlite_url))
    assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._timeout) == (4, 0, 2.0)


def test_a_request_waits_at_most_the_pool_timeout_then_it_is_unavailable(sqlite_url):
    engine = create_engine(Settings(db_url=sqlite_url, db_sqlite_pool_size=1, db_pool_timeout_s=0.2))

    async def scenario() -> BaseException:
        async with engine.connect():  # the only connection, held
            try:
                async with engine.connect():
                    pass
            except sa_exc.TimeoutError as error:
                return error
        raise AssertionError("a second connection was handed out beyond the pool")

    try:
        error = asyncio.run(scenario())
    finally:
        asyncio.run(engine.dispose())
    assert is_unavailable(error)  # answered 503 database_unavailable, never a 500


@pytest.mark.parametrize("size", [0, 65])
def test_out_of_range_sizes_are_refused(sqlite_url, size):
    with pytest.raises(Exception, match="sqlite_pool_size"):
        Settings(db_url=sqlite_url, db_sqlite_pool_size=size)
