"""A tiny OTLP/HTTP (protobuf) receiver on 127.0.0.1 for tests: it decodes what the app really exports.

    with OTLPReceiver() as receiver:
        app = create_app(Settings(otel_exporter_otlp_endpoint=receiver.url))   # the app POSTs to {url}/v1/traces, /v1/metrics
        ...
        spans = receiver.wait_for_spans(lambda spans: len(spans) >= 5)

Each received span is flattened into a `ReceivedSpan` (hex ids, plain attribute dict, its resource attributes).
"""

from __future__ import annotations

import gzip
import html
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SPAN_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in pairs if isinstance(kv, KeyValue)}


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str
    scope: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_code: int


@dataclass
class OTLPReceiver:
    host: str = "127.0.0.1"
    trace_requests: list[ExportTraceServiceRequest] = field(default_factory=list)
    metric_requests: list[ExportMetricsServiceRequest] = field(default_factory=list)
    bad_requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "receiver not started"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                reply = receiver._accept(self.path, self.headers.get("content-type", ""), body)
                if reply is None:
                    self.send_response(404 if self.path not in ("/v1/traces", "/v1/metrics") else 400)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def do_GET(self) -> None:
                # A stand-in for a tracing backend's UI (Jaeger's /trace/{id}): the spans received for one trace.
                trace_id = self.path.removeprefix("/trace/")
                spans = [span for span in receiver.spans() if span.trace_id == trace_id]
                items = "".join(f"<li>{html.escape(span.name)}</li>" for span in spans)
                body = f"<html><body><h1>Trace {html.escape(trace_id)}</h1><ul>{items}</ul></body></html>".encode()
                self.send_response(200 if spans else 404)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)
        self._thread.start()
        return self

    def _accept(self, path: str, content_type: str, body: bytes) -> bytes | None:
        if "protobuf" not in content_type:
            self.bad_requests.append(f"{path}: content-type {content_type!r}")
            return None
        try:
            if path == "/v1/traces":
                request = ExportTraceServiceRequest.FromString(body)
                with self._lock:
                    self.trace_requests.append(request)
                return ExportTraceServiceResponse().SerializeToString()
            if path == "/v1/metrics":
                metrics = ExportMetricsServiceRequest.FromString(body)
                with self._lock:
                    self.metric_requests.append(metrics)
                return ExportMetricsServiceResponse().SerializeToString()
        except Exception as exc:  # noqa: BLE001 - an undecodable body is a finding, recorded for the test
            self.bad_requests.append(f"{path}: {exc!r}")
            return None
        self.bad_requests.append(f"unknown path {path}")
        return None

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            requests = list(self.trace_requests)
        out: list[ReceivedSpan] = []
        for request in requests:
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        out.append(
                            ReceivedSpan(
                                name=span.name,
                                kind=SPAN_KINDS.get(span.kind, str(span.kind)),
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                                scope=scope_spans.scope.name,
                                attributes=attributes(span.attributes),
                                resource=resource,
                                status_code=span.status.code,
                            )
                        )
        return out

    def metric_names(self) -> set[str]:
        with self._lock:
            requests = list(self.metric_requests)
        return {
            metric.name
            for r in requests
            for rm in r.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        }

    def metrics(self, name: str) -> list[Any]:
        with self._lock:
            requests = list(self.metric_requests)
        return [
            metric
            for r in requests
            for rm in r.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == name
        ]

    def wait_for_spans(
        self, predicate: Callable[[list[ReceivedSpan]], bool], timeout_s: float = 10.0
    ) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.spans()
            if predicate(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
