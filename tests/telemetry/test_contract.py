"""telemetry/contract.py is the single source of metric names: it must map, through the real exporter, onto exactly the
Prometheus names it promises, with no two instruments on one name - and the metrics reference's table must say the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.exporter.prometheus._mapping import map_unit, sanitize_full_name
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from telemetry import Telemetry
from telemetry import contract as c
from telemetry.setup import contract_views
from tests.telemetry.scrape import parse, promtool_check

METRICS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "metrics.md"
FAMILY = {"counter": CounterMetricFamily, "histogram": HistogramMetricFamily, "gauge": GaugeMetricFamily}


def exporter_name(instrument: c.Instrument) -> str:
    """The name opentelemetry-exporter-prometheus gives this instrument, from its own mapping + prometheus_client."""
    family = FAMILY[instrument.kind](sanitize_full_name(instrument.otel_name), "", unit=map_unit(instrument.unit))
    return f"{family.name}_total" if instrument.kind == "counter" else family.name


def test_every_instrument_maps_to_its_promised_prometheus_name() -> None:
    for instrument in c.CONTRACT:
        assert exporter_name(instrument) == instrument.prometheus, instrument.key
    assert exporter_name(c.GENAI_TOKENS) == "gen_ai_client_token_usage"  # unit {token} adds no suffix
    assert exporter_name(c.HTTP_DURATION) == "starlette_requests_processing_seconds"  # no _seconds_seconds


def test_no_two_instruments_share_a_name() -> None:
    for attribute in ("key", "otel_name", "prometheus"):
        values = [getattr(i, attribute) for i in c.CONTRACT]
        assert len(values) == len(set(values)), attribute
    exposed = [name for i in c.CONTRACT for name in c.exposed_series_names(i)]
    assert len(exposed) == len(set(exposed))
    # A counter `x_total` and a histogram `x_total`... or a histogram `x` and a counter `x_count`: any overlap breaks.
    bases = {i.prometheus.removesuffix("_total") for i in c.CONTRACT}
    assert not {name for name in exposed if name not in {i.prometheus for i in c.CONTRACT}} & bases


def test_histograms_have_seconds_or_token_buckets() -> None:
    for instrument in c.CONTRACT:
        if instrument.kind != "histogram":
            assert instrument.buckets is None, instrument.key
            continue
        assert instrument.buckets and list(instrument.buckets) == sorted(set(instrument.buckets)), instrument.key
        if instrument.unit == "s":
            # SDK defaults are millisecond-sized (up to 10000): a seconds histogram needs its own.
            assert instrument.buckets[0] <= 0.01 and instrument.buckets[-1] <= 100, instrument.key
    assert c.HTTP_DURATION.buckets[0] == 0.001 and c.HTTP_DURATION.buckets[-1] == 10.0


def registry_with(record: bool = True) -> tuple[CollectorRegistry, MeterProvider, Telemetry]:
    registry = CollectorRegistry(auto_describe=True)
    reader = PrometheusMetricReader(
        disable_target_info=True,
        scope_info_enabled=False,
        resource_attribute_filter=lambda key: key in c.COMMON_LABELS,
        registry=registry,
    )
    provider = MeterProvider(
        resource=Resource({"service": "svc", "env": "test"}), metric_readers=[reader], views=contract_views()
    )
    telemetry = Telemetry(provider.get_meter("prompter"), None)
    if record:
        telemetry.record_http("GET", "/x", 200, 0.01)
        telemetry.record_db_unique("prompt_templates")
        telemetry.record_result_insert(fingerprint_present=True)
        telemetry.set_redis_up(True)
        telemetry.record_probe_attempt("openai", "gpt-4o")
        telemetry.record_probe_failure("openai", "gpt-4o")
        telemetry.record_cache_hit()
        telemetry.record_cache_miss()
        telemetry.record_model_drift("openai", "gpt-4o")
        with telemetry.ensure_version_timer("openai"), telemetry.llm_call("openai", "gpt-4o") as call:
            call.set_response(model="gpt-4o", input_tokens=3, output_tokens=5)
        for instrument in c.CONTRACT:  # instruments added later by other features: one point each
            if instrument.key not in {
                "http_requests",
                "http_duration",
                "db_unique_violation",
                "results_insert",
                "fingerprint_present",
                "redis_up",
                "probe_attempt",
                "probe_failure",
                "cache_hit",
                "cache_miss",
                "model_drift",
                "ensure_version",
                "genai_duration",
                "genai_tokens",
            }:
                method = {"counter": "add", "histogram": "record", "gauge": "set"}[instrument.kind]
                telemetry._record(instrument.key, method, 1, dict.fromkeys(instrument.labels, "x"))
    return registry, provider, telemetry


def test_the_real_exporter_exposes_exactly_the_contract() -> None:
    registry, provider, telemetry = registry_with()
    scrape = parse(generate_latest(registry).decode())
    assert telemetry.recording_errors == 0
    exposed = {name: family.type for name, family in scrape.families.items()}
    assert exposed == {
        i.prometheus.removesuffix("_total") if i.kind == "counter" else i.prometheus: i.kind for i in c.CONTRACT
    }
    for instrument in c.CONTRACT:
        assert set(c.exposed_series_names(instrument)) <= scrape.sample_names(), instrument.key
    checked = promtool_check(scrape.text)
    if checked is not None:
        assert checked.returncode == 0, checked.stdout + checked.stderr
    provider.shutdown()


def test_counters_that_can_exist_before_any_event_start_at_zero() -> None:
    registry, provider, _ = registry_with(record=False)
    scrape = parse(generate_latest(registry).decode())
    for instrument in c.CONTRACT:
        if instrument.kind == "counter" and not instrument.labels:
            assert scrape.value(instrument.prometheus, service="svc", env="test") == 0, instrument.key
    for table in c.DB_UNIQUE_TABLES:
        assert scrape.value("prompter_db_unique_violation_total", table=table, service="svc", env="test") == 0
    assert scrape.series("prompter_probe_failure_total") == []  # no model known yet
    provider.shutdown()


def test_the_duplicate_name_guard_catches_a_collision() -> None:
    """Two instruments that map to one Prometheus name (`x` + unit `s` and `x_seconds`) break the scrape: the parse
    helper and promtool both reject it, so the tests above would catch such a contract."""
    registry = CollectorRegistry(auto_describe=True)
    reader = PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=registry)
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("collision")
    meter.create_histogram("prompter_thing", unit="s", description="one").record(1.0)
    meter.create_histogram("prompter_thing_seconds", unit="s", description="two").record(1.0)
    text = generate_latest(registry).decode()
    with pytest.raises(AssertionError, match="prompter_thing_seconds"):
        parse(text)
    checked = promtool_check(text)
    if checked is not None:
        assert checked.returncode != 0
    provider.shutdown()


# -- the documented metric table (docs/reference/metrics.md)-----------------------------------------------------------------------------
def readme_table() -> dict[str, tuple[str, tuple[str, ...]]]:
    text = METRICS_PAGE.read_text()
    match = re.search(r"<!-- metrics-table:start -->(.*?)<!-- metrics-table:end -->", text, re.DOTALL)
    assert match, "docs/reference/metrics.md lacks the metrics-table markers"
    rows = [line for line in match.group(1).strip().splitlines() if line.startswith("|")]
    assert len(rows) > 2, "the metric table is empty"
    table: dict[str, tuple[str, tuple[str, ...]]] = {}
    for row in rows[2:]:  # header and separator
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        names = re.findall(r"`([a-z_:]+)`", cells[0])
        kind = cells[1].split()[0]
        label_text = re.sub(r"\([^)]*\)", "", cells[2])
        labels = tuple(label.strip(" `") for label in label_text.split(",") if label.strip(" `–-"))
        for name in names:
            if name.startswith("_"):
                continue  # the `_bucket/_sum/_count` note
            assert name not in table, f"{name} listed twice in docs/reference/metrics.md"
            table[name] = (kind, labels)
    return table


def test_documented_metric_table_matches_the_contract() -> None:
    documented = readme_table()
    expected = {i.prometheus: (i.kind, i.labels) for i in c.CONTRACT}
    assert set(documented) == set(expected), (
        f"only in docs/reference/metrics.md: {sorted(set(documented) - set(expected))}; "
        f"only in contract.py: {sorted(set(expected) - set(documented))}"
    )
    for name, (kind, labels) in expected.items():
        assert documented[name][0] == kind, name
        assert sorted(documented[name][1]) == sorted(labels), name
