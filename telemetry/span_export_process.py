"""The span exporter process: `python -m telemetry.span_export_process --endpoint URL [--timeout S]`.

Started by the span relay (telemetry/span_relay.py) of a Prompter process. It reads framed messages on stdin
(telemetry/span_wire.py), encodes the spans as OTLP straight from their tuples (telemetry/span_encoding.py) and sends
them through the stock OTLP/HTTP exporter's client - which reads the standard OTEL_EXPORTER_OTLP_* headers,
compression and certificate settings from the environment it inherits, exactly as it would in the request process.
It answers `ready` once it can export and each flush with its sequence number, and exits when stdin closes (its parent
shut down or died), after exporting what it had. SIGINT and SIGTERM are ignored: a Ctrl-C or a stop signal to the
process group must not lose spans the parent is still flushing.
"""

from __future__ import annotations

import argparse
import marshal
import signal
import sys
from typing import Any, BinaryIO

from telemetry.span_encoding import EncodedSpanExporter, SpanEncoder
from telemetry.span_wire import HEADER


def _read(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def messages(stream: BinaryIO) -> Any:
    while True:
        header = _read(stream, HEADER.size)
        if header is None:
            return
        body = _read(stream, HEADER.unpack(header)[0])
        if body is None:
            return
        yield marshal.loads(body)


def serve(stream: BinaryIO, answer: BinaryIO, exporter: Any) -> None:
    encoder = SpanEncoder()
    encoded = EncodedSpanExporter(exporter, encoder) if EncodedSpanExporter.supported(exporter) else None

    def reply(text: str) -> None:
        answer.write(f"{text}\n".encode())
        answer.flush()

    reply("ready")
    for message in messages(stream):
        kind = message[0]
        if kind == "spans":
            if encoded is not None:
                encoded.export(message[1])
            else:  # an exporter without the fields the encoded path uses: the stock path, spans rebuilt
                exporter.export([encoder.span(values) for values in message[1]])
        elif kind == "flush":
            reply(str(message[1]))
        else:
            encoder.define(message)
    exporter.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m telemetry.span_export_process", description=__doc__)
    parser.add_argument("--endpoint", required=True, help="full OTLP/HTTP traces URL (…/v1/traces)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per export")
    args = parser.parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from telemetry.export_logs import quiet_exporter_logs

    quiet_exporter_logs()
    serve(sys.stdin.buffer, sys.stdout.buffer, OTLPSpanExporter(endpoint=args.endpoint, timeout=args.timeout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
