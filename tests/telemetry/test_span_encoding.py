"""The exporter process's OTLP encoding from the relay's tuples (telemetry/span_encoding.py) equals the stock encoder's
output for the same SDK spans, message for message; the stock exporter's client sends it, size limit included; an
exporter without the fields that path needs gets rebuilt spans through its own export()."""

from __future__ import annotations

import io
import marshal
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from telemetry import span_encoding
from telemetry.export_logs import quiet_exporter_logs
from telemetry.span_encoding import EncodedSpanExporter, SpanEncoder
from telemetry.span_export_process import messages, serve
from telemetry.span_relay import _definition
from telemetry.span_wire import compact, frame
from tests.support.otlp_receiver import OTLPReceiver
from tests.telemetry.test_span_relay import RESOURCE, make_spans


def finished_spans(provider: TracerProvider) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    make_spans(provider)
    # The same request again from another tracer provider whose resource is equal but another object: the stock
    # encoder groups both under one resource.
    twin = TracerProvider(resource=Resource(dict(RESOURCE.attributes)))
    twin.add_span_processor(SimpleSpanProcessor(memory))
    tracer = twin.get_tracer("prompter", "1.2.3", schema_url="https://opentelemetry.io/schemas/1.26.0")
    for value in (0.0, -0.0, True, 1):  # equal values a cache of encodings must keep apart (-0.0 == 0.0 == False)
        with tracer.start_as_current_span("value", attributes={"value": value}):
            pass
    return list(memory.get_finished_spans())


def wire(spans: list[ReadableSpan]) -> bytes:
    """The frames the span relay writes for these spans: definitions first, then one batch."""
    indexes: dict[int, int] = {}
    out = []

    def index(kind: str, thing: Any) -> int:
        if id(thing) not in indexes:
            indexes[id(thing)] = len(indexes)
            out.append(frame(_definition(kind, indexes[id(thing)], thing)))
        return indexes[id(thing)]

    batch = [compact(s, index("resource", s.resource), index("scope", s.instrumentation_scope)) for s in spans]
    return b"".join(out) + frame(("spans", batch))


def encoder_and_batch(data: bytes) -> tuple[SpanEncoder, list[Any]]:
    """An encoder told the definitions in `data`, and the batch of span tuples that follows them."""
    encoder, batch = SpanEncoder(), []
    for message in messages(io.BytesIO(data)):
        if message[0] == "spans":
            batch = message[1]
        else:
            encoder.define(message)
    return encoder, batch


@pytest.fixture
def spans() -> list[ReadableSpan]:
    return finished_spans(
        TracerProvider(resource=RESOURCE, span_limits=SpanLimits(max_span_attributes=5, max_events=3))
    )


def test_the_encoding_from_tuples_is_the_stock_encoding(spans: list[ReadableSpan]) -> None:
    stock = encode_spans(spans)
    encoder, batch = encoder_and_batch(wire(spans))
    encoded = encoder.request(batch)
    assert len(stock.resource_spans) == 1 and len(stock.resource_spans[0].scope_spans) == 2
    assert encoded == stock
    assert encoded.SerializeToString(deterministic=True) == stock.SerializeToString(deterministic=True)


def test_kept_attribute_encodings_change_nothing_batch_after_batch(
    spans: list[ReadableSpan], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(span_encoding, "MAX_CACHED", 3)  # the cache fills and starts over within one batch
    stock = encode_spans(spans)
    encoder, batch = encoder_and_batch(wire(spans))
    again = marshal.loads(marshal.dumps(batch))  # the same spans as a second frame would carry them
    assert [encoder.request(batch), encoder.request(again)] == [stock, stock]


def test_the_stock_exporter_has_what_the_encoded_path_uses() -> None:
    exporter = OTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces")
    assert EncodedSpanExporter.supported(exporter)
    exporter.shutdown()


def test_the_encoded_request_goes_through_the_stock_client_and_its_size_limit(spans: list[ReadableSpan]) -> None:
    encoder, batch = encoder_and_batch(wire(spans))
    with OTLPReceiver() as receiver:
        endpoint = f"{receiver.url}/v1/traces"
        sent = EncodedSpanExporter(OTLPSpanExporter(endpoint=endpoint, timeout=5.0), encoder)
        limited = EncodedSpanExporter(OTLPSpanExporter(endpoint=endpoint, timeout=5.0, max_request_size=64), encoder)
        assert limited.export(batch) is False
        assert receiver.trace_requests == []
        assert sent.export(batch) is True
        assert receiver.trace_requests == [encode_spans(spans)]
        sent.exporter.shutdown()
        assert sent.export(batch) is False, "a shut-down exporter sends nothing"
    assert not receiver.bad_requests


def test_a_batch_that_cannot_be_encoded_is_dropped_and_logged(
    spans: list[ReadableSpan], caplog: pytest.LogCaptureFixture
) -> None:
    quiet_exporter_logs()  # as the exporter process starts: a fresh window, its first failure is logged
    encoder, batch = encoder_and_batch(wire(spans))
    broken = [(*batch[0][:-2], 99, batch[0][-1])]  # a resource index the exporter process was never told about
    with OTLPReceiver() as receiver:
        exporter = EncodedSpanExporter(OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces", timeout=5.0), encoder)
        assert exporter.export(broken) is False
        assert exporter.export(batch) is True  # and the next batch goes out
        assert receiver.trace_requests == [encode_spans(spans)]
    assert "Failed to encode span batch" in caplog.text


def test_an_exporter_without_the_encoded_path_gets_the_rebuilt_spans(spans: list[ReadableSpan]) -> None:
    memory = InMemorySpanExporter()
    assert not EncodedSpanExporter.supported(memory)
    serve(io.BytesIO(wire(spans) + frame(("flush", 1))), answers := io.BytesIO(), memory)
    assert answers.getvalue() == b"ready\n1\n"
    assert encode_spans(memory.get_finished_spans()) == encode_spans(spans)
