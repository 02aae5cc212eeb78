"""prompter_client.observe: recording is a queue append; batches go out by size and interval, are retried with
back-off while Prompter is unreachable (drop-oldest with a counter and one warning), 4xx batches are dropped, the
SDK responses' identity is read, and the active OpenTelemetry span names the prompt."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import httpx
import pytest
from prompter_client import Prompt, PromptVersion
from prompter_client import attributes as a
from prompter_client.observe import AsyncReporter, Reporter

PROMPT = Prompt(
    name="greet",
    body="Hi",
    label="production",
    version=PromptVersion(id=7, provider="openai", model_id="gpt-4o", captured={"system_fingerprint": "fp_1"}),
)


class Server:
    """An observations endpoint behind httpx.MockTransport that can be down, and records what it got."""

    def __init__(self) -> None:
        self.batches: list[dict[str, Any]] = []
        self.down = False
        self.status = 200
        self.lock = threading.Lock()

    def answer(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("refused", request=request)
        body = json.loads(request.content)
        with self.lock:
            self.batches.append({"body": body, "headers": dict(request.headers)})
        if self.status != 200:
            return httpx.Response(self.status, json={"error": "x", "detail": "y"})
        return httpx.Response(200, json={"accepted": len(body["items"]), "duplicate": 0, "rejected": 0, "items": []})

    async def async_answer(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self.answer(request)

    @property
    def items(self) -> list[dict[str, Any]]:
        with self.lock:
            return [item for batch in self.batches for item in batch["body"]["items"]]


def wait_until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def reporter(server: Server, **options: Any) -> Reporter:
    options.setdefault("flush_interval_s", 60.0)
    return Reporter(
        "http://prompter.test",
        "pk_x",
        org_id="acme",
        workspace_id="shop",
        transport=httpx.MockTransport(server.answer),
        **options,
    )


def test_a_full_batch_is_sent_at_once_with_the_tenant_and_key() -> None:
    server = Server()
    with reporter(server, batch_size=3) as r:
        for _ in range(3):
            r.record(PROMPT, {"system_fingerprint": "fp_1", "model": "gpt-4o"}, latency_ms=12.5)
        wait_until(lambda: len(server.items) == 3)
    batch = server.batches[0]
    assert batch["headers"]["authorization"] == "Bearer pk_x"
    assert batch["body"]["org_id"] == "acme" and batch["body"]["workspace_id"] == "shop"
    ids = [item["id"] for item in batch["body"]["items"]]
    assert len(set(ids)) == 3 and ids == sorted(ids, key=lambda i: int(i.rsplit("-", 1)[1]))
    assert batch["body"]["items"][0] == {
        "id": ids[0],
        "prompt": "greet",
        "provider": "openai",
        "label": "production",
        "version_id": 7,
        "reported": {"system_fingerprint": "fp_1", "model": "gpt-4o"},
        "latency_ms": 12.5,
    }
    assert r.sent == 3


def test_the_interval_flushes_a_partial_batch_and_close_flushes_the_rest() -> None:
    server = Server()
    r = reporter(server, batch_size=100, flush_interval_s=0.05)
    r.record(PROMPT)
    wait_until(lambda: len(server.items) == 1)
    r.record(PROMPT)
    r.close()
    assert len(server.items) == 2 and r.pending == 0


def test_unreachable_server_keeps_the_newest_drops_the_oldest_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    server = Server()
    server.down = True
    caplog.set_level(logging.WARNING, "prompter_client.observe")
    r = reporter(server, batch_size=5, max_queue=10, retry_min_s=0.01, retry_max_s=0.02, flush_interval_s=0.01)
    for i in range(25):
        r.record(PROMPT, latency_ms=float(i))
    wait_until(lambda: r._failures >= 3)
    assert r.dropped == 15 and r.pending == 10
    server.down = False
    wait_until(lambda: r.pending == 0)
    r.close()
    assert sorted(item["latency_ms"] for item in server.items) == [float(i) for i in range(15, 25)]
    unreachable = [m for m in caplog.messages if "unreachable (no answer)" in m]
    full = [m for m in caplog.messages if "queue is full" in m]
    assert len(unreachable) == 1 and len(full) == 1


def test_a_refused_batch_is_dropped_not_retried() -> None:
    server = Server()
    server.status = 403
    with reporter(server, batch_size=2) as r:
        r.record(PROMPT)
        r.record(PROMPT)
        wait_until(lambda: r.refused == 2)
    assert len(server.batches) == 1 and r.pending == 0


def test_a_fallback_prompt_is_not_observed() -> None:
    server = Server()
    with reporter(server) as r:
        r.record(Prompt(name="x", body="y", is_fallback=True))
        assert r.pending == 0


def test_observe_reads_the_openai_sdk_response_and_times_the_call() -> None:
    from openai.types.chat import ChatCompletion

    response = ChatCompletion.model_validate(
        {
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-2024-08-06",
            "system_fingerprint": "fp_new",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )
    server = Server()
    with reporter(server) as r:
        with r.observe(PROMPT) as call:
            call.response(response)
        with pytest.raises(TimeoutError), r.observe(PROMPT):
            raise TimeoutError
    ok, failed = server.items
    assert ok["reported"] == {"system_fingerprint": "fp_new", "model": "gpt-4o-2024-08-06"}
    assert ok["usage"] == {"input_tokens": 3, "output_tokens": 2} and ok["finish_reason"] == "stop"
    assert ok["latency_ms"] >= 0 and "error" not in ok
    assert failed["error"] == "TimeoutError" and "reported" not in failed


def test_anthropic_and_gemini_responses_give_their_identity() -> None:
    from anthropic.types import Message
    from prompter_client.integrations import read

    message = Message.model_validate(
        {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "claude-3-5-sonnet-20241022",
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 4, "output_tokens": 1},
        }
    )
    reading = read("anthropic", message)
    assert reading.reported == {"model": "claude-3-5-sonnet-20241022"} and reading.input_tokens == 4
    gemini = {
        "modelVersion": "models/gemini-2.0-flash-001",
        "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 9},
        "candidates": [{"finishReason": "STOP"}],
    }
    reading = read("google", gemini)
    assert reading.reported == {"modelVersion": "gemini-2.0-flash-001"} and reading.output_tokens == 9
    assert read("openai", object()).reported == {"system_fingerprint": None, "model": None}


def test_the_active_span_names_the_prompt_and_the_identity() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server = Server()
    with reporter(server) as r, provider.get_tracer("app").start_as_current_span("answer") as span:
        r.record(PROMPT, reported={"system_fingerprint": "fp_9", "model": "gpt-4o-x"}, input_tokens=1, output_tokens=2)
        context = span.get_span_context()
    (finished,) = exporter.get_finished_spans()
    assert finished.attributes[a.PROMPT_NAME] == "greet"
    assert finished.attributes[a.PROMPT_LABEL] == "production"
    assert finished.attributes[a.PROMPT_VERSION_ID] == 7
    assert finished.attributes[a.GEN_AI_PROVIDER_NAME] == "openai"
    assert finished.attributes[a.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] == "fp_9"
    assert finished.attributes[a.GEN_AI_RESPONSE_MODEL] == "gpt-4o-x"
    assert finished.attributes[a.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    (item,) = server.items
    assert item["trace_id"] == format(context.trace_id, "032x") and item["span_id"] == format(context.span_id, "016x")


async def test_the_async_reporter_sends_from_a_task_and_flushes_on_aclose() -> None:
    server = Server()
    r = AsyncReporter(
        "http://prompter.test",
        org_id="acme",
        workspace_id="shop",
        transport=httpx.MockTransport(server.async_answer),
        batch_size=2,
        flush_interval_s=60.0,
    )
    r.record(PROMPT)
    r.record(PROMPT)
    async with asyncio.timeout(10):
        while len(server.items) < 2:
            await asyncio.sleep(0.005)
    async with r.observe(PROMPT):
        pass
    await r.aclose()
    assert len(server.items) == 3 and r.sent == 3
