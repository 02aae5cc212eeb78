"""A trivial local OTLP/HTTP receiver: answers 200 to POST /v1/traces (and /v1/metrics) and keeps the bodies.

Bodies are only stored while load runs (parsing them then would steal CPU from the server being measured on a small
machine); GET /stats parses them afterwards and reports spans per service.name and span name, so the harness can show
that 100 % sampling really exported every request. Run: `python -m bench.otlp_sink --port 4318`.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_KEPT_BYTES = 768 * 1024 * 1024  # beyond this, bodies are counted but not kept (stats say so)


class SinkState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bodies: list[bytes] = []
        self.kept_bytes = 0
        self.requests = 0
        self.total_bytes = 0
        self.dropped_bodies = 0
        self.spans: dict[str, Counter[str]] = {}

    def add(self, body: bytes) -> None:
        with self.lock:
            self.requests += 1
            self.total_bytes += len(body)
            if self.kept_bytes + len(body) <= MAX_KEPT_BYTES:
                self.bodies.append(body)
                self.kept_bytes += len(body)
            else:
                self.dropped_bodies += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            bodies, self.bodies, self.kept_bytes = self.bodies, [], 0
        spans = _count_spans(bodies)
        with self.lock:
            for service, names in spans.items():
                merged = self.spans.setdefault(service, Counter())
                merged.update(names)
            return {
                "export_requests": self.requests,
                "bytes": self.total_bytes,
                "bodies_not_parsed": self.dropped_bodies,
                "spans": {service: dict(names.most_common()) for service, names in self.spans.items()},
            }


def _count_spans(bodies: list[bytes]) -> dict[str, Counter[str]]:
    try:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    except ImportError:  # opentelemetry-proto missing: counts stay empty, requests and bytes are still reported
        return {}
    found: dict[str, Counter[str]] = {}
    for body in bodies:
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception:  # noqa: BLE001 - a non-protobuf body (e.g. JSON) is counted in bytes only
            found.setdefault("(unparsable bodies)", Counter())["bodies"] += 1
            continue
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), "?"
            )
            names = found.setdefault(service, Counter())
            for scope_spans in resource_spans.scope_spans:
                names.update(span.name for span in scope_spans.spans)
    return found


def serve(port: int, host: str = "127.0.0.1") -> None:
    state = SinkState()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            if self.path.startswith("/v1/"):
                state.add(body)
            self._answer(200, b"", "application/x-protobuf")

        def do_GET(self) -> None:
            if self.path == "/stats":
                self._answer(200, json.dumps(state.stats()).encode(), "application/json")
            else:
                self._answer(200, b"ok", "text/plain")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)


if __name__ == "__main__":
    main()
