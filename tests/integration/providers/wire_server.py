"""A real HTTP server on 127.0.0.1 that the provider adapters talk to, speaking whatever the test scripts.

Each request is recorded (method, path, query, headers, JSON body); each answer is taken from a queue of `Reply`s,
falling back to `default` when the queue is empty. Replies can be slow (`delay_s`) to exercise timeouts.
The recorded-shape bodies below mirror what OpenAI, Anthropic and Gemini actually return.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from service.providers.http import HTTPPolicy

# Looks like a real key on purpose: every test that fails a call also checks this string leaks nowhere.
SECRET = "sk-test-Pr0mpt3rS3cr3tK3y-9f8e7d6c5b4a"
# Fast policy for the adapter tests: short timeout, two retries, Retry-After waited out up to 2 s.
# Generous per-attempt timeout: on a loaded CI machine a local answer can take over 0.5 s. Tests of the timeout itself
# build their own short policy.
FAST = HTTPPolicy(timeout_s=5.0, max_retries=2, max_retry_after_s=2.0)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    # Close the socket instead of finishing: "before_response" (nothing sent), "after_headers" (status and headers,
    # no body), "mid_body" (half of the announced body).
    drop: str | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


class WireServer:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.default: Reply | None = None
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Reply, default: Reply | None = None) -> None:
        with self._lock:
            self.replies.extend(replies)
            if default is not None:
                self.default = default

    def _next(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            if self.replies:
                return self.replies.popleft()
            return self.default or Reply(599, {"error": {"message": "wire server: no reply scripted"}})

    def start(self) -> WireServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                parts = urlsplit(self.path)
                reply = server._next(
                    Recorded(
                        self.command, parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                payload = reply.body
                if isinstance(payload, (dict, list)):
                    data = json.dumps(payload).encode()
                elif isinstance(payload, str):
                    data = payload.encode()
                else:
                    data = payload or b""
                try:
                    if reply.drop == "before_response":
                        self._hang_up()
                        return
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if reply.drop == "after_headers":
                        self._hang_up()
                        return
                    if reply.drop == "mid_body":
                        self.wfile.write(data[: len(data) // 2])
                        self._hang_up()
                        return
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout tests): nothing to answer

            def _hang_up(self) -> None:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def log_message(self, *_: Any) -> None:
                return None

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="wire-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


def base_url(provider: str, wire: WireServer) -> str:
    # OpenAI's base URL conventionally includes /v1; Anthropic's and Gemini's do not.
    return f"{wire.url}/v1" if provider == "openai" else wire.url


# -- recorded-shape responses ------------------------------------------------------------------------------------------


def openai_chat(
    text: str = "Hello Ada!",
    *,
    fingerprint: str | None = "fp_44709d6fcb",
    model: str = "gpt-4o-2024-08-06",
    prompt_tokens: int = 13,
    completion_tokens: int = 7,
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": fingerprint,
    }


def anthropic_message(
    text: str = "Hello Ada!", *, model: str = "claude-sonnet-4-20250514", input_tokens: int = 12, output_tokens: int = 6
) -> dict[str, Any]:
    return {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def gemini_response(
    text: str | None = "Hello Ada!",
    *,
    model_version: str = "gemini-2.0-flash-001",
    prompt_tokens: int = 9,
    candidate_tokens: int | None = 5,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"finishReason": "STOP" if text is not None else "MAX_TOKENS", "avgLogprobs": -0.12}
    if text is not None:
        candidate["content"] = {"parts": [{"text": text}], "role": "model"}
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
    }
    if candidate_tokens is not None:
        usage["candidatesTokenCount"] = candidate_tokens
        usage["totalTokenCount"] = prompt_tokens + candidate_tokens
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model_version,
        "responseId": "Jk3IaPHdNKCrmtkP5rvK0Ak",
    }


def openai_error(message: str, status_type: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": status_type, "param": None, "code": code}}


def anthropic_error(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def google_error(message: str, code: int = 400, status: str = "INVALID_ARGUMENT") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}
