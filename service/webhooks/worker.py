"""The delivery worker: runs in every replica (started by the app's lifespan), off the request path.

Each pass fans new outbox events out to their endpoints, claims due deliveries (claims.py: replicas share them), and
starts each as a task, at most PROMPTER_WEBHOOK_MAX_CONCURRENCY at once; a task checks the URL again (the SSRF rule, at
delivery time), signs and POSTs with a bounded timeout, then records the outcome in its own short transaction. Nothing
here runs inside a request, and the worker has its own connection pool, so a slow or dead receiver can only ever
hold delivery slots, never a request or a request's connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.models import utcnow
from service.db.transactions import WriteQueue, unit_of_work
from service.settings import WebhookSettings
from service.webhooks import claims
from service.webhooks.backoff import Backoff
from service.webhooks.outbox import payload_of, register_waker, unregister_waker
from service.webhooks.sender import Attempt, send, signed_headers
from service.webhooks.urls import UrlPolicy, UrlRefused
from telemetry import Telemetry
from telemetry.webhooks import delivery_span

log = logging.getLogger("prompter.webhooks")

FAN_OUT_BATCH = 200
# Retention: at most this many expired events go per pass, a pass at most every PRUNE_EVERY_S (or the retention, if
# shorter), so a backlog of them is worked off in short transactions rather than one long one.
PRUNE_BATCH = 500
PRUNE_EVERY_S = 60.0
COALESCE_S = 0.01
# A lease outlives the attempt's timeout by this much (recording the outcome included) before another worker may
# take the delivery over.
LEASE_MARGIN_S = 5.0


class DeliveryWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        read_sessions: async_sessionmaker[AsyncSession],
        settings: WebhookSettings,
        telemetry: Telemetry,
        *,
        write_queue: WriteQueue | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.sessions = sessions
        self.read_sessions = read_sessions
        self.lease_s = settings.timeout_s + LEASE_MARGIN_S
        self.settings = settings
        self.telemetry = telemetry
        self.write_queue = write_queue
        self.policy = UrlPolicy(settings.allowed_host_list)
        self.backoff = Backoff(settings.retry_base_s, settings.retry_max_s, settings.retry_window_s)
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=False,  # a redirect could lead anywhere, past the SSRF rule
            limits=httpx.Limits(max_connections=settings.max_concurrency),
        )
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._measured = 0.0
        self._pruned = 0.0
        self._failing = False  # the last pass failed: its outage was logged once

    def start(self) -> None:
        self._waker = register_waker(self._wake)
        self._task = asyncio.create_task(self._run(), name="prompter-webhook-worker")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop claiming; give in-flight deliveries `grace_s` to finish (the rest are cancelled: their leases expire
        and another replica, or this one after a restart, delivers them again)."""
        self._stopping = True
        self._wake.set()
        unregister_waker(self._waker)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, grace_s)
        if self._inflight:
            _, pending = await asyncio.wait(self._inflight, timeout=grace_s)
            for task in pending:
                task.cancel()
        await self.client.aclose()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                busy = await self.run_once()
            except Exception as exc:  # noqa: BLE001 - a database outage: log once, wait, try again
                if not self._failing:
                    log.warning("webhook worker cannot reach the database (%s: %s); retrying", type(exc).__name__, exc)
                self._failing = True
                busy = False
            else:
                if self._failing:
                    log.warning("webhook worker reaches the database again")
                self._failing = False
            if busy:
                continue
            # Woken by a committed event in this process; otherwise the next poll. The short pause after a wake-up
            # gathers the events of a burst of requests into one pass (on SQLite each pass is a turn at the writer).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_s)
                await asyncio.sleep(COALESCE_S)
            self._wake.clear()

    async def run_once(self) -> bool:
        """One pass; True when it found work (the next pass starts at once)."""
        if time.monotonic() - self._measured >= self.settings.poll_s:
            await self._measure_lag()
        if time.monotonic() - self._pruned >= min(PRUNE_EVERY_S, self.settings.retention_s):
            await self._prune()
        free = self.settings.max_concurrency - len(self._inflight)
        # A read first: an idle pass (or one whose deliveries all wait behind one in flight) writes nothing.
        async with self.read_sessions() as session:
            if not await claims.has_work(session, now=utcnow()):
                return False
        async with unit_of_work(self.sessions, self.write_queue) as session:
            fanned = await claims.fan_out(session, limit=FAN_OUT_BATCH)
            claimed = await claims.claim(session, now=utcnow(), limit=free, lease_s=self.lease_s) if free > 0 else []
        for item in claimed:
            task = asyncio.create_task(self._deliver(item), name=f"prompter-webhook-{item.delivery_id}")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return bool(fanned or claimed)

    async def _deliver(self, first: claims.Claim) -> None:
        """Deliver `first`, then - while they succeed - the next deliveries of its endpoint and subject in line."""
        item: claims.Claim | None = first
        while item is not None and not self._stopping:
            current = item
            try:
                attempt = await self.attempt(current)
                self.telemetry.record_webhook_delivery(attempt.outcome, attempt.seconds)
                result = claims.Result(attempt.ok, attempt.status_code, attempt.seconds * 1000, attempt.error)
                async with unit_of_work(self.sessions, self.write_queue) as session:
                    item = await claims.finish(
                        session,
                        current,
                        result,
                        now=utcnow(),
                        backoff=self.backoff,
                        disable_after_s=self.settings.disable_after_s,
                        lease_s=self.lease_s,
                    )
            except Exception:  # noqa: BLE001 - the lease expires and the delivery is tried again
                log.warning("webhook delivery %s could not be recorded", current.delivery_id, exc_info=True)
                return

    async def attempt(self, item: claims.Claim) -> Attempt:
        body = payload_of(item.event_type, item.created_at, item.data)
        try:
            target = await self.policy.check(item.url)
        except UrlRefused as refused:
            return Attempt("refused", 0.0, error=refused.detail)
        with delivery_span(
            self.telemetry, item.traceparent, event_type=item.event_type, endpoint_id=item.endpoint_id
        ) as trace_headers:
            headers = {**signed_headers(item.secret, item.event_id, body), **trace_headers}
            return await send(self.client, target, body, headers, timeout_s=self.settings.timeout_s)

    async def _prune(self) -> None:
        self._pruned = time.monotonic()
        before = utcnow() - timedelta(seconds=self.settings.retention_s)
        async with self.read_sessions() as session:
            if not await claims.has_expired(session, before=before):
                return
        async with unit_of_work(self.sessions, self.write_queue) as session:
            removed = await claims.prune(session, before=before, limit=PRUNE_BATCH)
        if removed == PRUNE_BATCH:
            self._pruned = 0.0  # more to remove: again on the next pass

    async def _measure_lag(self) -> None:
        self._measured = time.monotonic()
        async with self.sessions() as session:
            oldest: datetime | None = await claims.oldest_waiting(session)
        self.telemetry.set_webhook_outbox_lag(0.0 if oldest is None else (utcnow() - oldest).total_seconds())
