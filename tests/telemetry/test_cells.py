"""The port's counters and histograms kept as plain cells (telemetry/cells.py) reach every reader - /metrics, the stock
exporter path, OTLP push, any SDK reader - with exactly what SDK measurements of the same events produce: names, units,
descriptions, attributes (and their order), values, buckets, sums, min and max, temporality."""

from __future__ import annotations

import math
from typing import Any

import pytest
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest

from telemetry import TelemetryConfig, port, setup_telemetry
from telemetry.exposition import PrometheusTextReader
from telemetry.port import Telemetry
from telemetry.setup import contract_views

AWKWARD = ['with "quotes"', "back\\slash", "new\nline", "ünïcödé ✓", "", "le", "a,b=c}"]


def events(t: Telemetry) -> None:
    for index, value in enumerate(AWKWARD):
        t.record_http("GET", f"/api/{value}", 200 + index, 0.0001 * (index + 1))
        t.record_http("BREW", f"/api/{value}", 500, 12.5)
        t.record_http("GET", f"/api/{value}", 200 + index, 0.005)  # exactly on a bucket bound: counted in it
        t.record_probe_attempt("openai", f"model {value}")
        t.record_model_drift("openai", f"model {value}")
        with t.llm_call("anthropic", f"claude {value}") as call:
            call.set_response(model=f"claude {value}-2024", input_tokens=index, output_tokens=2**index)
    try:
        with t.llm_call("openai", "gpt-4o"):
            raise TimeoutError
    except TimeoutError:
        pass
    t.record_db_unique("prompt_templates")
    t.record_result_insert(fingerprint_present=True)
    t.record_result_insert(fingerprint_present=False)
    t.record_cache_hit()
    t.record_cache_miss()
    t.set_redis_up(True)
    t.record_auth_failure("missing")
    t.record_auth_failure("not-a-reason")
    t.record_label_move(protected=True, kind="rollback")
    t.record_label_drift("openai")
    t._record("http_duration", "record", -1.0, {"method": "GET", "route": "/neg"})  # dropped, as by the SDK
    t._record("results_insert", "add", -3)  # dropped, as by the SDK
    with t.ensure_version_timer("google"):
        pass


def provider(*readers: Any) -> MeterProvider:
    return MeterProvider(
        resource=Resource({"service": "svc", "env": "test"}),
        metric_readers=list(readers),
        views=contract_views(),
        exemplar_filter=AlwaysOffExemplarFilter(),
    )


def points(reader: InMemoryMetricReader) -> dict[str, Any]:
    """Every metric as comparable data: timestamps left out (they differ between any two collections)."""
    data = reader.get_metrics_data()
    out: dict[str, Any] = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = type(metric.data).__name__
                rows = []
                for p in metric.data.data_points:
                    row = {k: v for k, v in p.__dict__.items() if "time_unix_nano" not in k}
                    row["attributes"] = list(p.attributes.items())  # order too: OTLP sends them in this order
                    if "explicit_bounds" in row:  # 1 == 1.0, yet the exposition prints them differently
                        row["explicit_bounds"] = [repr(b) for b in row["explicit_bounds"]]
                    rows.append(row)
                rows.sort(key=repr)
                extra = (
                    getattr(metric.data, "aggregation_temporality", None),
                    getattr(metric.data, "is_monotonic", None),
                )
                out[metric.name] = (scope_metrics.scope.name, metric.description, metric.unit, kind, extra, rows)
    return out


class Clock:
    """perf_counter for the port: the same durations for both recordings (each reading 0.03 s after the last)."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 0.03
        return self.now


def test_cells_reach_a_reader_exactly_as_sdk_measurements_do(monkeypatch: pytest.MonkeyPatch) -> None:
    cells_reader, sdk_reader = InMemoryMetricReader(), InMemoryMetricReader()
    handle = setup_telemetry(TelemetryConfig(prometheus=False), meter_provider=provider(cells_reader))
    sdk = Telemetry(provider(sdk_reader).get_meter("prompter"), None)
    assert handle.telemetry.cells() and not sdk.cells()  # one on cells, one on SDK measurements
    monkeypatch.setattr(port, "time", Clock())
    events(handle.telemetry)
    monkeypatch.setattr(port, "time", Clock())
    events(sdk)

    got, want = points(cells_reader), points(sdk_reader)

    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == want[name], name
    tokens = got["gen_ai.client.token.usage"][5]
    assert any(row["min"] == 0 and row["max"] == 0 for row in tokens)  # min/max kept, as the SDK keeps them
    assert not math.isinf(got["prompter_ensure_version_seconds"][5][0]["min"])
    assert handle.telemetry.recording_errors == 0
    handle.shutdown()


def test_cells_render_the_same_prometheus_text_as_sdk_measurements(monkeypatch: pytest.MonkeyPatch) -> None:
    handle = setup_telemetry(TelemetryConfig(service="svc", env="test"))
    registry = CollectorRegistry(auto_describe=True)
    sdk_reader = PrometheusTextReader(
        disable_target_info=True,
        scope_info_enabled=False,
        resource_attribute_filter=lambda key: key in {"service", "env"},
        registry=registry,
    )
    sdk = Telemetry(provider(sdk_reader).get_meter("prompter"), None)
    monkeypatch.setattr(port, "time", Clock())
    events(handle.telemetry)
    monkeypatch.setattr(port, "time", Clock())
    events(sdk)

    def families(text: bytes) -> dict[str, str]:
        # The SDK lists families in the order of their first measurement; the cells in contract order.
        blocks = text.decode().split("# HELP ")[1:]
        return {block.split(" ", 1)[0]: block for block in blocks}

    served = handle.prometheus_text()
    assert served == generate_latest(handle.registry)  # the fast writer and the stock path agree on cells too
    assert families(served) == families(generate_latest(registry))
    assert (
        b'starlette_requests_total{env="test",method="OTHER",route="/api/le",service="svc",status="500"} 1.0' in served
    )
    handle.shutdown()


def test_an_injected_provider_without_hookable_readers_records_through_the_sdk() -> None:
    from opentelemetry.metrics import NoOpMeterProvider

    handle = setup_telemetry(TelemetryConfig(), meter_provider=NoOpMeterProvider())  # type: ignore[arg-type]
    events(handle.telemetry)
    assert not handle.telemetry.cells()
    assert handle.telemetry.recording_errors == 0
