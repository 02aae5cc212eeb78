"""SQLite's in-process writer queue: one holder at a time, waiters served in arrival order, a bounded wait."""

from __future__ import annotations

import asyncio

import pytest

from service.db.transactions import WriteQueue
from service.http.errors import DependencyUnavailable, status_of


async def test_writers_enter_one_at_a_time_in_arrival_order():
    queue = WriteQueue(wait_s=5)
    order: list[int] = []
    inside = 0
    most_inside = 0

    async def writer(n: int) -> None:
        nonlocal inside, most_inside
        await queue.enter()
        try:
            inside += 1
            most_inside = max(most_inside, inside)
            order.append(n)
            await asyncio.sleep(0)  # let every other task run while this one holds the queue
            inside -= 1
        finally:
            queue.leave()

    await queue.enter()  # held, so all 64 queue up behind it in the order they are started
    tasks = [asyncio.create_task(writer(n)) for n in range(64)]
    await asyncio.sleep(0)
    queue.leave()
    await asyncio.gather(*tasks)

    assert order == list(range(64))
    assert most_inside == 1
    assert not queue.busy


async def test_a_wait_longer_than_the_limit_is_database_unavailable():
    queue = WriteQueue(wait_s=0.05)
    await queue.enter()
    with pytest.raises(DependencyUnavailable) as caught:
        await queue.enter()
    assert caught.value.code == "database_unavailable" and status_of(caught.value) == 503
    assert "PROMPTER_DB_WRITE_WAIT_S" in caught.value.detail
    queue.leave()
    await queue.enter()  # the timed-out waiter left nothing behind
    queue.leave()
