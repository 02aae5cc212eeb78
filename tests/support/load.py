"""A bounded load of creates and runs against one base URL (HAProxy), recording every answer as the client saw it.

Workers take operation numbers from one counter: every third is a create (a new template name each time), the rest
are runs of the templates made beforehand. Every operation sends its own Idempotency-Key, and the client does what such
a client should: a request whose connection closed before any answer is sent once more with the same key (a replay
if the first attempt did reach the app; the proof's row and LLM-call counts show no doubles). Any other transport
error, a second disconnect, or a non-201 answer is a failed request. Retries are counted and reported. The load stops at `max_total` operations or `deadline_s` at the latest; before that it keeps going
past `total` only while `keep_going()` says so (e.g. until a restarted replica has served again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class Answer:
    kind: str  # "create" | "run"
    status: int | None  # None: no HTTP answer at all
    served_by: str | None  # HAProxy's X-Served-By
    started: float  # time.time()
    finished: float
    body: dict[str, Any] | None
    error: str | None
    retried_after: str | None = None  # the first attempt's transport error, when the request was sent twice


RUN_MODEL = {"provider": "openai", "model_id": "gpt-4o"}


class LoadDriver:
    def __init__(
        self,
        base_url: str,
        template_ids: list[int],
        *,
        label: str,
        concurrency: int,
        total: int,
        max_total: int,
        deadline_s: float,
        keep_going: Callable[[], bool] = lambda: False,
    ) -> None:
        self.base_url, self.template_ids, self.label = base_url, template_ids, label
        self.concurrency, self.total, self.max_total = concurrency, total, max_total
        self.deadline = time.monotonic() + deadline_s
        self.keep_going = keep_going
        self.answers: list[Answer] = []
        self._next = 0
        self._lock = threading.RLock()  # keep_going() may read the answers while _take() holds it
        self._threads: list[threading.Thread] = []

    def start(self) -> LoadDriver:
        for n in range(self.concurrency):
            thread = threading.Thread(target=self._worker, name=f"load-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def completed(self) -> int:
        with self._lock:
            return len(self.answers)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def join(self, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        assert not alive, f"load workers still running after {timeout_s}s: {alive}"

    def _take(self) -> int | None:
        with self._lock:
            n = self._next
            if n >= self.max_total or time.monotonic() > self.deadline:
                return None
            if n >= self.total and not self.keep_going():
                return None
            self._next += 1
            return n

    def _worker(self) -> None:
        # One keep-alive connection per worker, as a real client pool would hold.
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            while (n := self._take()) is not None:
                answer = self._one(http, n)
                with self._lock:
                    self.answers.append(answer)

    def _one(self, http: httpx.Client, n: int) -> Answer:
        if n % 3 == 0:
            kind, path = "create", "/api/prompt-templates"
            payload: dict[str, Any] = {
                "org_id": "acme",
                "workspace_id": "scale",
                "name": f"{self.label}-{n}",
                "body": "Load {{ name }} number " + str(n),
            }
        else:
            template_id = self.template_ids[n % len(self.template_ids)]
            kind, path = "run", f"/api/prompt-templates/{template_id}/run"
            payload = {**RUN_MODEL, "variables": {"name": f"user-{n}"}}
        started = time.time()
        headers = {"Idempotency-Key": f"{self.label}-{n}"}
        retried_after = None
        try:
            try:
                response = http.post(path, json=payload, headers=headers)
            except (httpx.RemoteProtocolError, httpx.ConnectError) as first:
                # Closed before any answer byte: safe to send again under the same key.
                retried_after = f"{type(first).__name__}: {first}"
                response = http.post(path, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            return Answer(kind, None, None, started, time.time(), None, error, retried_after)
        try:
            body = response.json()
        except ValueError:
            body = None
        error = None if response.status_code == 201 else response.text[:300]
        served_by = response.headers.get("x-served-by")
        return Answer(kind, response.status_code, served_by, started, time.time(), body, error, retried_after)
