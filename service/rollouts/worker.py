"""The rollout worker: every PROMPTER_ROLLOUT_TICK_S each replica opens one short transaction; on PostgreSQL only the
replica that wins a transaction-scoped advisory lock analyses (the others skip the tick), on SQLite the one process
does. A failing tick is logged and retried at the next; it never stops the worker nor the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.transactions import WriteQueue, begin_write, unit_of_work
from service.labels.policy import Decision
from service.labels.service import LabelService
from service.rollouts.repository import RolloutRepository
from service.rollouts.service import ACTOR, RolloutService
from telemetry import Telemetry

log = logging.getLogger("prompter.rollouts")


class RolloutWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        queue: WriteQueue | None,
        telemetry: Telemetry,
        publish: Callable[[object], None],
        *,
        protected: frozenset[str],
        tick_s: float,
    ) -> None:
        self.sessions = sessions
        self.queue = queue
        self.telemetry = telemetry
        self.publish = publish
        self.protected = protected
        self.tick_s = tick_s
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> list[Decision]:
        """One read to learn whether any rollout is due (most ticks: none, and no write lock is taken), then one
        write transaction holding the worker lock for the analyses."""
        async with unit_of_work(self.sessions, self.queue, writes_first=False, publish=self.publish) as session:
            labels = LabelService(session, self.telemetry, self.protected, None, actor=ACTOR)
            rollouts = RolloutService(session, labels, RolloutRepository(session))
            if not await rollouts.any_due():
                return []
            await begin_write(session)
            if not await rollouts.repo.try_worker_lock():
                return []  # another replica is analysing this tick
            return await rollouts.analyse_due()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)  # first a tick's wait: a starting replica does not analyse at once
            try:
                for decision in await self.tick():
                    log.info("rollout decision: %s (%s)", decision.action, decision.reason)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad tick must not end the worker
                log.exception("rollout worker tick failed; retrying at the next tick")

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="prompter-rollout-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
