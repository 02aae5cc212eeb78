"""Report the provider calls your application makes itself, so Prompter sees drift and production traffic without a
single `/run`.

    from prompter_client import Prompter
    from prompter_client.observe import Reporter

    prompter, reporter = Prompter(), Reporter()          # PROMPTER_BASE_URL, PROMPTER_API_KEY, ... as for Prompter
    prompt = prompter.get_prompt("greet", label="production")
    with reporter.observe(prompt) as call:
        response = openai.chat.completions.create(model=prompt.version.model_id, messages=[...])
        call.response(response)                          # reads system_fingerprint, model, usage, finish reason

Recording never blocks or fails the application: an observation is a dict appended to a bounded in-memory queue
(drop-oldest when full, counted in `reporter.dropped`, one warning). A background thread (`Reporter`) or asyncio task
(`AsyncReporter`) sends batches of `batch_size` or every `flush_interval_s`, retrying with exponential back-off and
jitter while Prompter is unreachable (one warning per outage), and flushes once more at exit.
When an OpenTelemetry span is active, the prompt and the reported identity are set on it too (prompter_client/spans.py).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import time
import weakref
from types import TracebackType
from typing import Any

import httpx

from prompter_client.observation_queue import PATH, ObservationQueue

log = logging.getLogger("prompter_client.observe")


class ObservedCall:
    """What `reporter.observe(prompt)` yields: hand it the SDK response; the rest is measured for you."""

    __slots__ = ("_reporter", "_started", "error", "model_id", "prompt", "provider", "reading")

    def __init__(self, reporter: ObservationQueue, prompt: Any, provider: str | None, model_id: str | None) -> None:
        self._reporter, self.prompt = reporter, prompt
        version = prompt.version
        self.provider = provider or (version.provider if version is not None else None)
        self.model_id = model_id
        self.reading: Any = None  # the SDK response handed to response()
        self.error: str | None = None
        self._started = 0.0

    def response(self, response: Any) -> Any:
        """Hand over the openai / anthropic / google-genai response (returned as is): its identity, usage and finish
        reason are read by the sender, not on the caller's path."""
        self.reading = response
        return response

    def __enter__(self) -> ObservedCall:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        latency_ms = round((time.perf_counter() - self._started) * 1000, 3)
        if exc_type is not None:
            self.error = exc_type.__name__
        self._reporter.record(
            self.prompt,
            provider=self.provider,
            model_id=self.model_id,
            latency_ms=latency_ms,
            error=self.error,
            response=self.reading,
        )

    async def __aenter__(self) -> ObservedCall:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


_DEFAULTS: dict[str, Any] = {
    "org_id": None,
    "workspace_id": None,
    "batch_size": 100,
    "flush_interval_s": 1.0,
    "max_queue": 10_000,
    "timeout_s": None,
    "retry_min_s": 0.5,
    "retry_max_s": 30.0,
    "trace": True,
}


class Reporter(ObservationQueue):
    """Sends from a daemon thread. `close()` (also at interpreter exit) flushes what is queued, within `timeout_s`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, api_key, **{**_DEFAULTS, **options})
        self._http = httpx.Client(base_url=self.config.base_url, timeout=self.config.timeout_s, transport=transport)
        self._event = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="prompter-observe", daemon=True)
        self._thread.start()
        atexit.register(_close_at_exit, weakref.ref(self))

    def _wake(self) -> None:
        self._event.set()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Send what is queued now, in the calling thread; True when the queue is empty afterwards."""
        deadline = time.monotonic() + timeout_s
        while self._queue and time.monotonic() < deadline:
            if not self._send_one():
                return False
        return not self._queue

    def _send_one(self) -> bool:
        batch = self._take()
        if not batch:
            return True
        try:
            response: httpx.Response | None = self._http.post(PATH, json=self._body(batch), headers=self._headers())
        except httpx.HTTPError:
            response = None
        if self._settle(response, batch):
            return True
        self._put_back(batch)
        return False

    def _run(self) -> None:
        wait = self.flush_interval_s
        while not self._stopping:
            self._event.wait(wait)
            self._event.clear()
            if self._stopping:
                break
            wait = self.flush_interval_s
            while self._queue and not self._stopping:
                if not self._send_one():
                    wait = self._backoff_s()
                    break

    def close(self, timeout_s: float = 2.0) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._event.set()
        self._thread.join(timeout_s)
        if self._failures == 0:
            self.flush(timeout_s)
        self._http.close()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


class AsyncReporter(ObservationQueue):
    """Sends from an asyncio task of the loop that records (started with the first observation). `await aclose()`
    before the loop ends flushes; what is still queued at interpreter exit is sent once more, synchronously."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, api_key, **{**_DEFAULTS, **options})
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._event: asyncio.Event | None = None
        self._closed = False
        atexit.register(_close_at_exit, weakref.ref(self))

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()

    def record(self, prompt: Any, reported: dict[str, str | None] | None = None, **fields: Any) -> None:
        super().record(prompt, reported, **fields)
        if self._task is None and not self._closed:
            self._start()

    def _start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # recorded outside a loop: sent by the next start, or at exit
        self._event = asyncio.Event()
        self._http = httpx.AsyncClient(
            base_url=self.config.base_url, timeout=self.config.timeout_s, transport=self._transport
        )
        self._task = loop.create_task(self._run(), name="prompter-observe")

    async def _send_one(self) -> bool:
        batch = self._take()
        if not batch or self._http is None:
            return True
        try:
            response: httpx.Response | None = await self._http.post(
                PATH, json=self._body(batch), headers=self._headers()
            )
        except httpx.HTTPError:
            response = None
        if self._settle(response, batch):
            return True
        self._put_back(batch)
        return False

    async def _run(self) -> None:
        assert self._event is not None
        wait = self.flush_interval_s
        while True:
            try:
                await asyncio.wait_for(self._event.wait(), wait)
            except TimeoutError:
                pass
            self._event.clear()
            wait = self.flush_interval_s
            while self._queue:
                if not await self._send_one():
                    wait = self._backoff_s()
                    break

    async def flush(self, timeout_s: float = 5.0) -> bool:
        if self._http is None:
            self._start()
        deadline = time.monotonic() + timeout_s
        while self._queue and time.monotonic() < deadline:
            if not await self._send_one():
                return False
        return not self._queue

    async def aclose(self, timeout_s: float = 2.0) -> None:
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the loop's own failure is not the caller's
                pass
        if self._failures == 0 and self._queue:
            await self.flush(timeout_s)
        if self._http is not None:
            await self._http.aclose()

    def close(self, timeout_s: float = 2.0) -> None:
        """At exit, outside the loop: one synchronous attempt for what is still queued."""
        self._closed = True
        if not self._queue or self._failures:
            return
        with httpx.Client(base_url=self.config.base_url, timeout=min(timeout_s, self.config.timeout_s)) as http:
            deadline = time.monotonic() + timeout_s
            while self._queue and time.monotonic() < deadline:
                batch = self._take()
                try:
                    response: httpx.Response | None = http.post(PATH, json=self._body(batch), headers=self._headers())
                except httpx.HTTPError:
                    response = None
                if not self._settle(response, batch):
                    self._put_back(batch)
                    return

    async def __aenter__(self) -> AsyncReporter:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()


def _close_at_exit(ref: weakref.ref[ObservationQueue]) -> None:
    reporter = ref()
    if reporter is not None:
        try:
            reporter.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - nothing may fail the interpreter's exit
            log.debug("flush at exit failed", exc_info=True)


_default: Reporter | None = None
_default_lock = threading.Lock()


def observe(prompt: Any, *, provider: str | None = None, model_id: str | None = None) -> ObservedCall:
    """`with observe(prompt) as call: ... call.response(r)` on a process-wide Reporter configured from PROMPTER_*."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Reporter()
    return _default.observe(prompt, provider=provider, model_id=model_id)
