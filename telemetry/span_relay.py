"""A span processor that hands finished spans to an exporter process instead of encoding them here.

The SDK's BatchSpanProcessor encodes every span as OTLP protobuf and POSTs it from a thread of the request process:
about a third of what full tracing costs a run. `SpanRelay` keeps only the cheap part here. A finished span is
appended to a bounded queue (full: the span is dropped and counted, the request never waits); a relay thread turns
each batch into plain tuples (telemetry/span_wire.py) and writes them down a pipe to `python -m
telemetry.span_export_process`, which rebuilds the spans and exports them with the stock OTLP/HTTP exporter.

If the exporter process dies, the relay starts a new one (the batch in flight is counted as dropped); if it cannot
start one, or it keeps dying, the relay exports in this process with the stock exporter, as BatchSpanProcessor
would. `force_flush` and `shutdown` return once the exporter process has exported everything queued before them.
Batching follows the standard OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import IO, Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter

from telemetry.span_wire import Rebuilder, compact, frame

log = logging.getLogger("prompter.telemetry")

READY_TIMEOUT_S = 30.0  # the exporter process imports the OTLP exporter before it answers `ready`
DROP_LOG_INTERVAL_S = 60.0
MAX_RESTARTS = 5  # exporter processes started after the first before the relay gives up and exports in process


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def exporter_command(endpoint: str, timeout_s: float) -> list[str]:
    return [sys.executable, "-m", "telemetry.span_export_process", "--endpoint", endpoint, "--timeout", str(timeout_s)]


class _Child:
    """One exporter process and the two pipes to it."""

    def __init__(self, command: Sequence[str], ready_timeout_s: float) -> None:
        self.popen = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.stdin: IO[bytes] = self.popen.stdin
        self._answers = self.popen.stdout.fileno()
        self._pending = b""
        if self.answer(ready_timeout_s) != "ready":
            self.stop(0)
            raise OSError(f"span exporter process {command!r} did not start")

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send(self, data: bytes) -> None:
        self.stdin.write(data)

    def answer(self, timeout_s: float) -> str | None:
        """The next line the process writes, or None if it writes none in time (or exits)."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._answers], [], [], left)[0]:
                return None
            chunk = os.read(self._answers, 4096)
            if not chunk:
                return None
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()

    def stop(self, timeout_s: float) -> None:
        try:
            self.stdin.close()  # end of input: the process exports what it has and exits
        except OSError:
            pass
        try:
            self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()


class SpanRelay(SpanProcessor):
    def __init__(
        self,
        command: Sequence[str],
        inline_exporter: Callable[[], SpanExporter],
        *,
        timeout_s: float = 5.0,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        """`command` starts the exporter process; `inline_exporter` builds the exporter used when none can run."""
        self.command = list(command)
        self._inline_factory = inline_exporter
        self._inline: SpanExporter | None = None
        self.timeout_s = timeout_s
        self._ready_timeout_s = ready_timeout_s
        self.max_queue = int(_env_number("OTEL_BSP_MAX_QUEUE_SIZE", 2048))
        self.batch_size = int(_env_number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512))
        self.delay_s = _env_number("OTEL_BSP_SCHEDULE_DELAY", 5000) / 1000
        self.dropped = 0  # spans lost: queue full, or in flight when an exporter process died
        self.restarts = 0
        self.export_failures = 0
        self._reported_drops, self._reported_at = 0, float("-inf")
        self._queue: deque[ReadableSpan | tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._flushes: list[threading.Event] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._child: _Child | None = None
        self._defined: dict[int, tuple[int, Any]] = {}  # id(resource or scope) -> (index, the object, kept alive)
        self._sequence = 0
        self._thread = threading.Thread(target=self._run, name="prompter-span-relay", daemon=True)
        self._thread.start()

    # -- the request path: as little as possible ------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        self.enqueue(span)

    def enqueue(self, span: ReadableSpan | tuple[Any, ...]) -> None:
        """A finished span, or a span already in `span_wire.compact`'s shape with its resource and scope objects in
        the last two places (telemetry/relayed_spans.py)."""
        queue = self._queue
        if len(queue) >= self.max_queue or self._stopping:
            self.dropped += 1
            return
        queue.append(span)
        if len(queue) == self.batch_size:
            self._wake.set()

    # -- flush and shutdown ---------------------------------------------------------------------------------------
    def force_flush(self, timeout_millis: int = 30000) -> bool:
        done = threading.Event()
        with self._lock:
            if not self._thread.is_alive():
                return False
            self._flushes.append(done)
        self._wake.set()
        return done.wait(timeout_millis / 1000)

    def shutdown(self) -> None:
        if self._stopping:
            return
        self.force_flush(int(self.timeout_s * 2000))
        self._stopping = True
        self._wake.set()
        self._thread.join(self.timeout_s * 2)

    @property
    def pid(self) -> int | None:
        """The exporter process's pid (None while there is none: exporting in process, or not started yet)."""
        child = self._child
        return child.pid if child is not None else None

    @property
    def inline(self) -> bool:
        return self._inline is not None

    # -- the relay thread -----------------------------------------------------------------------------------------
    def _run(self) -> None:
        self._start_child()
        while True:
            self._wake.wait(self.delay_s)
            self._wake.clear()
            with self._lock:
                flushes, self._flushes = self._flushes, []
            self._drain()
            self._report_drops()
            if flushes:
                self._flush_child()
                for done in flushes:
                    done.set()
            if self._stopping:
                break
        if self._child is not None:
            self._child.stop(self.timeout_s)
            self._child = None
        if self._inline is not None:
            self._inline.shutdown()

    def _report_drops(self) -> None:
        """Dropped spans are counted on the request path and logged from here, at most once a minute."""
        now = time.monotonic()
        if self.dropped > self._reported_drops and now - self._reported_at >= DROP_LOG_INTERVAL_S:
            log.warning("%d spans dropped so far (queue full or exporter process gone)", self.dropped)
            self._reported_drops, self._reported_at = self.dropped, now

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            batch = [queue.popleft() for _ in range(min(len(queue), self.batch_size))]
            try:
                self._export(batch)
            except Exception:  # noqa: BLE001 - the relay thread must survive anything an exporter does
                self.dropped += len(batch)
                self.export_failures += 1
                if self.export_failures == 1:  # once: a broken exporter must not flood the logs
                    log.warning("span export failed; spans dropped, further failures counted", exc_info=True)

    def _export(self, batch: list[Any]) -> None:
        if self._child is not None and not self._child.alive():
            self._replace_child()
        child = self._child
        if child is None:
            self._export_inline(batch)
            return
        try:
            child.send(self._encode(batch))
            child.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.dropped += len(batch)
            self._replace_child()

    def _encode(self, batch: list[Any]) -> bytes:
        definitions: list[bytes] = []
        spans = []
        for span in batch:
            if isinstance(span, tuple):
                resource = self._index("resource", span[-2], definitions)
                spans.append((*span[:-2], resource, self._index("scope", span[-1], definitions)))
                continue
            if not span.context.trace_flags.sampled:
                continue
            resource = self._index("resource", span.resource, definitions)
            spans.append(compact(span, resource, self._index("scope", span.instrumentation_scope, definitions)))
        return b"".join(definitions) + frame(("spans", spans))

    def _index(self, kind: str, thing: Any, definitions: list[bytes]) -> int:
        known = self._defined.get(id(thing))
        if known is not None:
            return known[0]
        index = len(self._defined)
        self._defined[id(thing)] = (index, thing)
        definitions.append(frame(_definition(kind, index, thing)))
        return index

    def _flush_child(self) -> None:
        child = self._child
        if child is None:
            if self._inline is not None:
                self._inline.force_flush(int(self.timeout_s * 1000))
            return
        self._sequence += 1
        try:
            child.send(frame(("flush", self._sequence)))
            child.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self._replace_child()
            return
        while True:  # answers to earlier flushes that timed out may still come first
            answer = child.answer(self.timeout_s * 2)
            if answer is None or answer == str(self._sequence):
                return

    # -- the exporter process -------------------------------------------------------------------------------------
    def _start_child(self) -> None:
        try:
            self._child = _Child(self.command, self._ready_timeout_s)
        except Exception:  # noqa: BLE001 - no exporter process: export here instead
            log.warning("span exporter process could not start; exporting spans in process", exc_info=True)
            self._child = None
            self._use_inline()

    def _replace_child(self) -> None:
        old, self._child = self._child, None
        if old is not None:
            old.stop(0)
        self._defined.clear()  # a new process knows no resource or scope yet
        if self.restarts >= MAX_RESTARTS:
            log.warning("span exporter process keeps exiting; exporting spans in process")
            self._use_inline()
            return
        self.restarts += 1
        log.warning("span exporter process exited; starting another")
        self._start_child()

    def _use_inline(self) -> None:
        if self._inline is None:
            self._inline = self._inline_factory()

    def _export_inline(self, batch: list[Any]) -> None:
        self._use_inline()
        assert self._inline is not None
        spans = [self._rebuild(span) if isinstance(span, tuple) else span for span in batch]
        self._inline.export([span for span in spans if span.context.trace_flags.sampled])

    def _rebuild(self, values: tuple[Any, ...]) -> ReadableSpan:
        """A relayed statement span as a ReadableSpan, for the in-process exporter."""
        rebuilder = Rebuilder()
        rebuilder.resources[0], rebuilder.scopes[0] = values[-2], values[-1]
        return rebuilder.span((*values[:-2], 0, 0))


def _definition(kind: str, index: int, thing: Any) -> tuple[Any, ...]:
    """The message that tells the exporter process about a resource or an instrumentation scope (None: no scope)."""
    if kind == "resource":
        return ("resource", index, dict(thing.attributes), thing.schema_url)
    if thing is None:
        return ("scope", index, None, None, None, None)
    return ("scope", index, thing.name, thing.version, thing.schema_url, dict(thing.attributes or {}))
