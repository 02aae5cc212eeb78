"""The only things the two clients do differently, in pairs: `AsyncFlight` / `Flight` (one shared first fetch) and
`AsyncBackground` / `Background` (where refreshes run and how file I/O leaves the caller).

async_client.py is written against the Async* names; the generated sync_client.py
(client/scripts/generate_sync_client.py) gets the plain ones. Everything else, failure handling included, is one text in async_client.py and the core.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class AsyncFlight(Generic[T]):
    """A cold fetch shared by every task asking for the same key: the leader sets it, everyone awaits it."""

    def __init__(self) -> None:
        self._future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        # Waiters only see the flight, so an error nobody awaits must not be reported as "never retrieved".
        self._future.add_done_callback(lambda f: f.cancelled() or f.exception())

    def set_result(self, value: T) -> None:
        self._future.set_result(value)

    def set_exception(self, exc: BaseException) -> None:
        self._future.set_exception(exc)

    async def wait(self, timeout_s: float) -> T:
        """The leader's result or its exception; TimeoutError after `timeout_s` (a waiter's cancel spares the flight)."""
        return await asyncio.wait_for(asyncio.shield(self._future), timeout_s)


class Flight(Generic[T]):
    """A cold fetch shared by every thread asking for the same key: the leader sets it, everyone waits on it."""

    def __init__(self) -> None:
        self._future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def set_result(self, value: T) -> None:
        self._future.set_result(value)

    def set_exception(self, exc: BaseException) -> None:
        self._future.set_exception(exc)

    def wait(self, timeout_s: float) -> T:
        """The leader's result or its exception; TimeoutError after `timeout_s`."""
        return self._future.result(timeout=timeout_s)


class AsyncBackground:
    """Background refreshes as tasks on the running loop, at most `max_workers` sending at a time."""

    def __init__(self, max_workers: int) -> None:
        self.pending: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max_workers)

    def submit(self, job: Callable[..., Awaitable[None]], *args: Any, name: str) -> bool:
        """Start `job(*args)` in the background; False when it could not start (the client is closing)."""
        task = asyncio.get_running_loop().create_task(self._run(job, *args), name=name)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return True

    async def _run(self, job: Callable[..., Awaitable[None]], *args: Any) -> None:
        async with self._slots:
            await job(*args)

    async def offload(self, function: Callable[[], None]) -> None:
        """Blocking work (the cache file) on a thread, off the event loop."""
        await asyncio.to_thread(function)

    async def shutdown(self) -> None:
        """Cancel the running refreshes and wait until they are gone."""
        tasks = list(self.pending)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Background:
    """Background refreshes on a small thread pool."""

    def __init__(self, max_workers: int) -> None:
        self.pending: set[concurrent.futures.Future[None]] = set()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="prompter-refresh")

    def submit(self, job: Callable[..., None], *args: Any, name: str) -> bool:
        """Start `job(*args)` in the background; False when it could not start (the pool shut down meanwhile)."""
        try:
            future = self._pool.submit(job, *args)
        except RuntimeError:  # close() from another thread
            return False
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)
        return True

    def offload(self, function: Callable[[], None]) -> None:
        """Blocking work (the cache file): the calling thread is already allowed to block."""
        function()

    def shutdown(self) -> None:
        """Drop queued refreshes and wait for the running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)
