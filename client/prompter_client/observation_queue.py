"""The caller's side of prompter_client.observe: `record()` appends a tuple to a bounded deque (drop-oldest), and the
sender's side that both reporters share: turning tuples into JSON items, settling an answer, back-off. No I/O here."""

from __future__ import annotations

import itertools
import logging
import os
import random
from collections import deque
from typing import Any

import httpx

from prompter_client import spans
from prompter_client.config import load_config
from prompter_client.integrations import read

log = logging.getLogger("prompter_client.observe")
PATH = "/api/observations"


class ObservationQueue:
    """The caller's side: record() appends, nothing else. Shared by the thread and the asyncio reporter."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        org_id: str | None,
        workspace_id: str | None,
        batch_size: int,
        flush_interval_s: float,
        max_queue: int,
        timeout_s: float | None,
        retry_min_s: float,
        retry_max_s: float,
        trace: bool,
    ) -> None:
        if not 1 <= batch_size <= max_queue:
            raise ValueError(
                f"batch_size={batch_size!r}, max_queue={max_queue!r}; allowed: 1 <= batch_size <= max_queue"
            )
        if flush_interval_s <= 0:
            raise ValueError(f"flush_interval_s={flush_interval_s!r}; allowed: a number > 0")
        self.config = load_config(
            base_url=base_url,
            api_key=api_key,
            org_id=org_id,
            workspace_id=workspace_id,
            cache_ttl_s=None,
            timeout_s=timeout_s,
            cache_file=None,
            retry_min_s=retry_min_s,
            retry_max_s=retry_max_s,
        )
        self.batch_size, self.flush_interval_s, self.max_queue = batch_size, flush_interval_s, max_queue
        self.trace = trace
        # Looked up once: without OpenTelemetry (or trace=False) the caller's path does not ask for a span at all.
        self._span_of = spans.current_span if trace and spans.AVAILABLE else None
        self.dropped = 0  # observations dropped (oldest first) because the queue was full
        self.sent = 0  # accepted or duplicate on the server
        self.refused = 0  # rejected by the server (an item it cannot accept, or a batch refused with a 4xx)
        # Recorded tuples (the caller's path), or items built already (a batch put back after a failed send keeps its
        # ids, so the server deduplicates a batch that did arrive).
        self._queue: deque[Any] = deque()
        self._prefix = os.urandom(8).hex() + "-"
        self._sequence = itertools.count()
        self._drop_warned = False
        self._failures = 0

    # -- the caller's path -------------------------------------------------------------------------------------------
    def record(
        self,
        prompt: Any,
        reported: dict[str, str | None] | None = None,
        *,
        provider: str | None = None,
        model_id: str | None = None,
        latency_ms: float | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        finish_reason: str | None = None,
        error: str | None = None,
        response: Any = None,
    ) -> None:
        """Queue one observation of a call made with `prompt` (a resolved Prompt; a fallback prompt has no version
        and is skipped). `response`: an openai / anthropic / google-genai response to read identity, usage and
        finish reason from (where the arguments leave them out). Never raises, never blocks: a tuple is appended
        here; the response is read and the JSON item built by the sender, off the caller's path."""
        if prompt.version is None:
            return
        ids = None
        if self._span_of is not None:
            span = self._span_of()
            if span is not None:
                if response is not None:  # the span needs the reading now
                    reported, input_tokens, output_tokens, finish_reason = _merge(
                        read(provider or prompt.version.provider, response),
                        reported,
                        input_tokens,
                        output_tokens,
                        finish_reason,
                    )
                    response = None
                ids = self._annotate(
                    span, prompt, reported, provider, model_id, input_tokens, output_tokens, finish_reason, error
                )
        queue = self._queue
        if len(queue) >= self.max_queue:
            self._drop_oldest()
        queue.append(
            (
                prompt,
                reported,
                provider,
                model_id,
                latency_ms,
                input_tokens,
                output_tokens,
                finish_reason,
                error,
                ids,
                response,
            )
        )
        if len(queue) >= self.batch_size:
            self._wake()

    def observe(self, prompt: Any, *, provider: str | None = None, model_id: str | None = None) -> Any:
        """A context manager around one provider call: times it, records an exception's type as the error (and
        re-raises it), and reads the response you hand to `call.response(...)`."""
        from prompter_client.observe import ObservedCall

        return ObservedCall(self, prompt, provider, model_id)

    @staticmethod
    def _annotate(
        span: Any,
        prompt: Any,
        reported: dict[str, Any] | None,
        provider: str | None,
        model_id: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        finish_reason: str | None,
        error: str | None,
    ) -> tuple[str, str] | None:
        values = spans.span_attributes(
            prompt,
            provider=provider or prompt.version.provider,
            model_id=model_id or prompt.version.model_id,
            reported=reported,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            finish_reason=finish_reason,
            error=error,
        )
        spans.annotate(span, values)
        trace_id, span_id = spans.ids(span)
        return (trace_id, span_id) if trace_id is not None and span_id is not None else None

    def _item(self, entry: tuple[Any, ...]) -> dict[str, Any]:
        """The JSON item of a recorded tuple (built by the sender)."""
        prompt, reported, provider, model_id, latency_ms, input_tokens, output_tokens, finish, error, ids, response = (
            entry
        )
        version = prompt.version
        if response is not None:
            reported, input_tokens, output_tokens, finish = _merge(
                read(provider or version.provider, response), reported, input_tokens, output_tokens, finish
            )
        item: dict[str, Any] = {
            "id": self._prefix + str(next(self._sequence)),
            "prompt": prompt.name,
            "provider": provider or version.provider,
        }
        if prompt.label:
            item["label"] = prompt.label
        item["version_id"] = version.id
        if model_id is not None:
            item["model_id"] = model_id
        if reported is not None:
            item["reported"] = reported
        if latency_ms is not None:
            item["latency_ms"] = latency_ms
        if input_tokens is not None or output_tokens is not None:
            item["usage"] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
        if finish is not None:
            item["finish_reason"] = finish[:32]
        if error is not None:
            item["error"] = error[:64]
        if ids is not None:
            item["trace_id"], item["span_id"] = ids
        return item

    def _drop_oldest(self) -> None:
        try:
            self._queue.popleft()
        except IndexError:
            return
        self.dropped += 1
        if not self._drop_warned:
            self._drop_warned = True
            log.warning(
                "prompter observations: the queue is full (%d; Prompter at %s unreachable or slow): dropping the "
                "oldest observations, counted in reporter.dropped",
                self.max_queue,
                self.config.base_url,
            )

    def _wake(self) -> None:
        raise NotImplementedError

    # -- the sender's side -------------------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return len(self._queue)

    def _take(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        queue = self._queue
        while queue and len(batch) < self.batch_size:
            try:
                entry = queue.popleft()
            except IndexError:
                break
            batch.append(entry if isinstance(entry, dict) else self._item(entry))
        return batch

    def _put_back(self, batch: list[dict[str, Any]]) -> None:
        """A batch that could not be sent goes back to the front; what no longer fits is the oldest, so it is dropped."""
        room = self.max_queue - len(self._queue)
        keep = batch[len(batch) - room :] if room < len(batch) else batch
        for _ in range(len(batch) - len(keep)):
            self.dropped += 1
        self._queue.extendleft(reversed(keep))

    def _body(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {"items": batch}
        if self.config.org_id and self.config.workspace_id:
            body["org_id"], body["workspace_id"] = self.config.org_id, self.config.workspace_id
        return body

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}

    def _settle(self, response: httpx.Response | None, batch: list[dict[str, Any]]) -> bool:
        """True when the batch is done with (sent, or refused for good); False to retry it later."""
        if response is None or response.status_code == 429 or response.status_code >= 500:
            self._failures += 1
            if self._failures == 1:
                log.warning(
                    "prompter observations: Prompter at %s is unreachable (%s); observations are kept (up to %d) and "
                    "retried with back-off",
                    self.config.base_url,
                    "no answer" if response is None else f"HTTP {response.status_code}",
                    self.max_queue,
                )
            return False
        if self._failures:
            log.info("prompter observations: Prompter reachable again")
        self._failures = 0
        if response.status_code == 200:
            try:
                answer = response.json()
                self.sent += int(answer.get("accepted", 0)) + int(answer.get("duplicate", 0))
                self.refused += int(answer.get("rejected", 0))
            except (ValueError, AttributeError, TypeError):
                pass
            return True
        self.refused += len(batch)
        log.warning(
            "prompter observations: a batch of %d was refused with HTTP %d (%s); it is dropped",
            len(batch),
            response.status_code,
            response.text[:200],
        )
        return True

    def _backoff_s(self) -> float:
        ceiling = min(self.config.retry_max_s, self.config.retry_min_s * 2 ** min(self._failures - 1, 30))
        return ceiling * random.uniform(0.5, 1.0)


def _merge(
    reading: Any,
    reported: dict[str, Any] | None,
    input_tokens: int | None,
    output_tokens: int | None,
    finish_reason: str | None,
) -> tuple[dict[str, Any] | None, int | None, int | None, str | None]:
    """What the caller passed wins; the response's reading fills the rest."""
    return (
        reported if reported is not None else reading.reported,
        input_tokens if input_tokens is not None else reading.input_tokens,
        output_tokens if output_tokens is not None else reading.output_tokens,
        finish_reason if finish_reason is not None else reading.finish_reason,
    )
