"""/metrics text, fast: opentelemetry-exporter-prometheus's reader and name translation, a leaner text writer.

The stock path (`prometheus_client.generate_latest` over the exporter's collector) turns every data point into
prometheus_client family objects and samples, then validates and escapes every label name of every sample again while
formatting: about 90 ms for 10k series on the benchmark machine. `PrometheusTextReader` is the exporter's
`PrometheusMetricReader` (same registry registration, temporality, cardinality limits; the stock path keeps working
for OpenMetrics scrapes) with one more method, `text()`, which collects the same `MetricsData` and writes the Prometheus
text format (0.0.4) itself. Names come from the exporter's own translation (`_resolve_metric_name`, `map_unit`,
`sanitize_attribute`, `_check_value`) and from prometheus_client's family classes (suffixes, `_total`).

Building and escaping a series' label text was most of a scrape's cost, and it is the same at every scrape: the reader
keeps each series' line heads (everything before the value: name, labels, a histogram's `le` per bucket) across
scrapes, keyed by what determines them, and a scrape then only formats the values. A histogram series whose bucket
counts and sum are what they were at the last scrape (most of them, between two scrapes a few seconds apart) reuses
that scrape's text whole. The output is byte for byte what `generate_latest` writes for the same data
(tests/telemetry/test_fast_exposition.py checks that).
"""

from __future__ import annotations

import threading
from itertools import accumulate
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader, _should_convert_sum_to_gauge
from opentelemetry.exporter.prometheus._mapping import map_unit, sanitize_attribute
from opentelemetry.sdk.metrics.export import Gauge, Histogram, MetricsData, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString


class PrometheusTextReader(PrometheusMetricReader):
    """The exporter's reader; `text()` renders a collection as the Prometheus text format without the detour."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._capture_lock = threading.Lock()
        self._capturing = False
        self._captured: MetricsData | None = None
        self._cache = SeriesCache()

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        if self._capturing:
            self._captured = metrics_data  # for text(); the stock collector's queue is left alone
            return
        super()._receive_metrics(metrics_data, timeout_millis, **kwargs)

    def text(self) -> bytes:
        with self._capture_lock:
            self._capturing = True
            try:
                self.collect()
                data, self._captured = self._captured, None
            finally:
                self._capturing = False
            if data is None:
                return b""
            return encode(data, self._collector, self._cache)  # under the lock: the cache is not thread-safe


def _escape_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _family_head(name: str, description: str, unit: str, kind: type) -> tuple[str, str, str]:
    """(sample base name, exposed family name, type) exactly as prometheus_client derives them: a counter's family and
    its samples are `<name>_total`, a histogram's samples `<name>_bucket/_count/_sum`."""
    family = kind(name=name, documentation=description, labels=(), unit=unit)
    if family.type == "counter":
        return family.name + "_total", family.name + "_total", family.type
    return family.name, family.name, family.type


class SeriesCache:
    """What a scrape can reuse from the last ones: line heads per series, label names and values, number texts.
    Emptied when it outgrows MAX_ENTRIES (series come and go; the cache must not grow without bound)."""

    MAX_ENTRIES = 200_000

    def __init__(self) -> None:
        self.series: dict[Any, Any] = {}
        self.label_names: dict[str, str] = {}
        self.values: dict[Any, str] = {}
        self.numbers: dict[float, str] = {}
        self.counts: dict[int, str] = {}
        # id(a histogram series' heads) -> (the heads, bucket counts, sum, its lines) as the last scrape rendered them.
        # Replaced by each scrape's own, so it holds the last scrape's series only: the size of one /metrics answer.
        self.histograms: dict[int, tuple[Any, tuple[int, ...], Any, str]] = {}

    def trim(self) -> None:
        for table in (self.series, self.label_names, self.values, self.numbers, self.counts):
            if len(table) > self.MAX_ENTRIES:
                table.clear()


class _Writer:
    """One scrape: the families in first-seen order; the caches of what repeats (label names, values, series heads)."""

    def __init__(self, collector: Any, cache: SeriesCache | None = None) -> None:
        self.collector = collector
        self.families: dict[str, tuple[str, str, str, str, list[str]]] = {}  # id -> help, exposed, type, base, lines
        cache = cache or SeriesCache()
        cache.trim()
        self.series = cache.series
        self.label_names = cache.label_names
        self.values = cache.values
        self.numbers = cache.numbers
        self.counts = cache.counts
        self.cache = cache
        self.last_histograms = cache.histograms
        self.histograms: dict[int, tuple[Any, tuple[int, ...], Any, str]] = {}

    def count_text(self, value: int) -> str:
        text = self.counts[value] = floatToGoString(value)
        return text

    def number(self, value: float) -> str:
        if not value:  # 0.0 and -0.0 are equal keys but print differently
            return floatToGoString(value)
        text = self.numbers.get(value)
        if text is None:
            text = self.numbers[value] = floatToGoString(value)
        return text

    def label_name(self, key: str) -> str:
        label = self.label_names.get(key)
        if label is None:
            label = self.label_names[key] = sanitize_attribute(key)
        return label

    def label_value(self, value: Any) -> str:
        cacheable = isinstance(value, str | int | float | bool)
        key = (type(value), value) if cacheable else None
        text = self.values.get(key) if cacheable else None
        if text is None:
            text = _escape_value(self.collector._check_value(value))
            if cacheable:
                self.values[key] = text
        return text

    def text(self) -> bytes:
        self.cache.histograms = self.histograms
        out: list[str] = []
        for help_text, exposed, kind, _, lines in self.families.values():
            out.append(f"# HELP {exposed} {help_text}\n# TYPE {exposed} {kind}\n")
            out.extend(lines)
        return "".join(out).encode("utf-8")


def encode(data: MetricsData, collector: Any, cache: SeriesCache | None = None) -> bytes:
    """MetricsData -> Prometheus text, translated by `collector` (the exporter's _CustomCollector) as it would.
    `cache` carries series heads over from earlier scrapes (one cache per collector: names depend on it)."""
    if not collector._disable_target_info:
        raise ValueError("PrometheusTextReader.text() needs disable_target_info=True")
    writer = _Writer(collector, cache)
    for resource_metrics in data.resource_metrics:
        resource_attrs = collector._build_resource_attrs(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            scope_attrs = collector._build_scope_attrs(scope_metrics.scope)
            fixed = _attributes_key(resource_attrs) + (None,) + _attributes_key(scope_attrs)
            for metric in scope_metrics.metrics:
                _metric(writer, metric, resource_attrs, scope_attrs, fixed)
    return writer.text()


def _attributes_key(attributes: Any) -> tuple[Any, ...]:
    """Hashable and exact: True, 1 and 1.0 are equal keys but print differently, so the value types are part of it."""
    return (*attributes.items(), *map(type, attributes.values()))


def _metric(
    writer: _Writer, metric: Any, resource_attrs: dict[str, Any], scope_attrs: dict[str, Any], fixed: tuple[Any, ...]
) -> None:
    name = writer.collector._resolve_metric_name(metric.name)
    description = metric.description or ""
    unit = map_unit(metric.unit or "")
    data = metric.data
    to_gauge = _should_convert_sum_to_gauge(metric)
    if isinstance(data, Sum) and not to_gauge:
        kind: type = CounterMetricFamily
    elif isinstance(data, Gauge) or to_gauge:
        kind = GaugeMetricFamily
    elif isinstance(data, Histogram):
        kind = HistogramMetricFamily
    else:
        return  # the stock path logs and skips it too
    family_id = "|".join((name, description, unit, kind.__name__))
    entry = writer.families.get(family_id)
    if entry is None:
        base, exposed, type_name = _family_head(name, description, unit, kind)
        help_text = description.replace("\\", r"\\").replace("\n", r"\n")
        entry = writer.families[family_id] = (help_text, exposed, type_name, base, [])
    base, lines = entry[3], entry[4]

    # Label names as the exporter's _collect_data_points builds them: the sorted union over the points of resource,
    # scope and point attribute names; a point without one of them gets "".
    points = data.data_points
    if not points:
        return
    raw: set[str] = set(resource_attrs).union(scope_attrs)
    for point in points:
        raw.update(point.attributes)
    label_keys = tuple(sorted({writer.label_name(key) for key in raw}))
    histogram = kind is HistogramMetricFamily
    number = writer.number
    series = writer.series
    for point in points:
        try:
            key: Any = (base, label_keys, fixed, _attributes_key(point.attributes))
            if histogram:
                key += (tuple(point.explicit_bounds),)
            heads = series.get(key)
        except TypeError:  # an unhashable attribute value: build this series' heads every time
            key, heads = None, None
        if heads is None:
            heads = _heads(writer, base, label_keys, histogram, point, resource_attrs, scope_attrs)
            if key is not None:
                series[key] = heads
        if not histogram:
            lines.append(f"{heads}{number(point.value)}\n")
            continue
        bucket_counts, total = point.bucket_counts, point.sum
        if type(bucket_counts) is not tuple:
            bucket_counts = tuple(bucket_counts)
        # Keyed by the identity of the series' heads (kept alive by the entry, so the id is not reused): an int
        # hashes at no cost, the series key would be hashed a second time.
        last = writer.last_histograms.get(id(heads))
        # Cumulative counts only grow: equal counts mean nothing was recorded since, so the sum is the same too. It
        # is compared anyway, with its type (1 == 1.0 prints differently), so that a reused text is never a guess.
        if (
            last is not None
            and last[0] is heads
            and last[1] == bucket_counts
            and last[2] == total
            and type(last[2]) is type(total)
        ):
            text = last[3]
        else:
            text = _histogram_text(writer, heads, bucket_counts, total)
        writer.histograms[id(heads)] = (heads, bucket_counts, total, text)
        lines.append(text)


def _histogram_text(writer: _Writer, heads: Any, bucket_counts: tuple[int, ...], total: Any) -> str:
    buckets, count_head, sum_head = heads
    number, counts, count_text = writer.number, writer.counts, writer.count_text
    # Cumulative bucket counts are non-negative integers (never -0.0): their texts are looked up directly.
    texts = [counts.get(n) or count_text(n) for n in accumulate(bucket_counts)]
    lines = [f"{head}{text}\n" for head, text in zip(buckets, texts, strict=False)]
    if count_head is not None and total is not None:
        lines.append(f"{count_head}{texts[-1] if texts else number(0)}\n")
        lines.append(f"{sum_head}{number(total)}\n")
    return "".join(lines)


def _heads(
    writer: _Writer,
    base: str,
    label_keys: tuple[str, ...],
    histogram: bool,
    point: Any,
    resource_attrs: dict[str, Any],
    scope_attrs: dict[str, Any],
) -> Any:
    """One series' line heads (up to the value): a string, or for a histogram (bucket heads, count head, sum head)."""
    labels: dict[str, str] = {}
    for source in (resource_attrs, scope_attrs, point.attributes):
        for key, value in source.items():
            labels[writer.label_name(key)] = writer.label_value(value)
    common = ",".join(f'{k}="{labels.get(k, "")}"' for k in label_keys)
    braces = f"{{{common}}}" if common else ""
    if not histogram:
        return f"{base}{braces} "
    # Bucket lines: every label sorted by name, `le` in its place (prometheus_client sorts each sample's labels).
    merged = dict.fromkeys(label_keys, "")
    merged.update(labels)
    merged.pop("le", None)  # a point attribute called `le` is overwritten by the bucket's, as in the stock path
    before = "".join(f'{k}="{v}",' for k, v in sorted(merged.items()) if k < "le")
    after = "".join(f',{k}="{v}"' for k, v in sorted(merged.items()) if k > "le")
    bounds = point.explicit_bounds
    buckets = tuple(f'{base}_bucket{{{before}le="{upper}"{after}}} ' for upper in (*bounds, "+Inf"))
    if float(bounds[0] if len(bounds) else "+Inf") >= 0:
        return buckets, f"{base}_count{braces} ", f"{base}_sum{braces} "
    return buckets, None, None
