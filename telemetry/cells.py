"""The contract's counters and histograms as plain Python cells, merged into every collection of the meter provider.

An OpenTelemetry SDK measurement costs 18-38 µs inside the running app: it copies and validates the attribute dict,
hashes it, builds a frozen Measurement, then locks and bisects. Six of them per run were most of what metrics cost.
A cell is what the SDK's cumulative aggregation keeps - a number, or bucket counts, sum, min and max - in a dict keyed
by the label items, so a recording is a dict lookup and a few additions (well under a microsecond).

At collection time (a scrape, an OTLP push) `attach` hands every reader of the provider the SDK's own MetricsData with
the cells' metrics added as the SDK would have built them (cumulative sums and explicit-bucket histograms, the same
names, units, descriptions, attributes and start times, no exemplars), so /metrics, the stock exporter path and OTLP
push see the same data as before. The SDK 1.x has no asynchronous histogram and no MetricProducer, hence the reader
hook. Recording happens on the event loop, and so does a /metrics scrape; an OTLP push collects on its reader's
thread and only copies the dicts (a C-level copy the loop cannot interleave with), so at worst a push catches one
observation half-recorded (its bucket counted, its sum not yet) - cumulative data, whole again at the next push.
"""

from __future__ import annotations

import logging
import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from telemetry import contract as c

log = logging.getLogger("prompter.telemetry")
Key = tuple[tuple[str, Any], ...]  # the label items, in the order the port passes them (the OTLP attribute order)
CUMULATIVE = AggregationTemporality.CUMULATIVE


def key_of(attributes: dict[str, Any] | None) -> Key:
    return tuple(attributes.items()) if attributes else ()


class CounterCell:
    """A monotonic counter: label items -> running total."""

    def __init__(self, instrument: c.Instrument) -> None:
        self.instrument = instrument
        self.points: dict[Key, int | float] = {}
        self.starts: dict[Key, int] = {}

    def add(self, amount: int | float, key: Key = ()) -> None:
        if amount < 0:  # as the SDK's Counter.add: a negative amount is dropped
            log.warning("Add amount must be non-negative on Counter %s.", self.instrument.otel_name)
            return
        points = self.points
        value = points.get(key)
        if value is None:
            self.starts[key] = time.time_ns()
            points[key] = amount
        else:
            points[key] = value + amount

    def metric(self, now: int) -> Metric | None:
        points, starts = dict(self.points), self.starts
        if not points:
            return None
        data = [
            NumberDataPoint(attributes=dict(key), start_time_unix_nano=starts[key], time_unix_nano=now, value=value)
            for key, value in points.items()
        ]
        return _metric(self.instrument, Sum(data, aggregation_temporality=CUMULATIVE, is_monotonic=True))


class _Buckets:
    __slots__ = ("counts", "max", "min", "start", "sum")

    def __init__(self, size: int, start: int) -> None:
        self.counts = [0] * size
        self.sum: int | float = 0
        self.min: int | float = math.inf
        self.max: int | float = -math.inf
        self.start = start


class HistogramCell:
    """An explicit-bucket histogram: label items -> bucket counts, sum, min, max (as the SDK's aggregation)."""

    def __init__(self, instrument: c.Instrument) -> None:
        self.instrument = instrument
        self.bounds = tuple(instrument.buckets or ())  # as given: the SDK renders le="1" for int bounds, not "1.0"
        self.points: dict[Key, _Buckets] = {}

    def record(self, value: int | float, key: Key = ()) -> None:
        if value < 0:  # as the SDK's Histogram.record: a negative value is dropped
            log.warning("Record amount must be non-negative on Histogram %s.", self.instrument.otel_name)
            return
        cell = self.points.get(key)
        if cell is None:
            cell = self.points[key] = _Buckets(len(self.bounds) + 1, time.time_ns())
        cell.counts[bisect_left(self.bounds, value)] += 1
        cell.sum += value
        if value < cell.min:
            cell.min = value
        if value > cell.max:
            cell.max = value

    def metric(self, now: int) -> Metric | None:
        points = dict(self.points)
        if not points:
            return None
        data = [
            HistogramDataPoint(
                attributes=dict(key),
                start_time_unix_nano=cell.start,
                time_unix_nano=now,
                count=sum(counts := tuple(cell.counts)),
                sum=cell.sum,
                bucket_counts=counts,
                explicit_bounds=self.bounds,
                min=cell.min,
                max=cell.max,
            )
            for key, cell in points.items()
        ]
        return _metric(self.instrument, Histogram(data, aggregation_temporality=CUMULATIVE))


def _metric(instrument: c.Instrument, data: Any) -> Metric:
    return Metric(name=instrument.otel_name, description=instrument.description, unit=instrument.unit, data=data)


class SdkCounter:
    """The same interface over an SDK instrument: for a meter `attach` cannot reach (no reader hook). No __slots__ on
    the instrument classes: tests replace a method on one instance to prove a broken meter never fails a request."""

    def __init__(self, instrument: Any) -> None:
        self._instrument = instrument

    def add(self, amount: int | float, key: Key = ()) -> None:
        self._instrument.add(amount, dict(key) if key else None)

    def record(self, value: int | float, key: Key = ()) -> None:
        self._instrument.record(value, dict(key) if key else None)

    def set(self, value: int | float, key: Key = ()) -> None:
        self._instrument.set(value, dict(key) if key else None)


_ORDER = {instrument.otel_name: index for index, instrument in enumerate(c.CONTRACT)}


def merge(data: MetricsData | None, cells: Iterable[CounterCell | HistogramCell], scope: str, resource: Any) -> Any:
    """`data` with the cells' metrics in `scope`, every metric of that scope in contract order (others after)."""
    now = time.time_ns()
    extra = [m for m in (cell.metric(now) for cell in cells) if m is not None]
    if not extra:
        return data
    if data is None or not data.resource_metrics:
        data = MetricsData(resource_metrics=[ResourceMetrics(resource=resource, scope_metrics=[], schema_url="")])
    first, *rest = data.resource_metrics
    scopes = list(first.scope_metrics)
    index = next((i for i, s in enumerate(scopes) if s.scope.name == scope), None)
    if index is None:
        scopes.append(ScopeMetrics(scope=InstrumentationScope(scope), metrics=[], schema_url=""))
        index = len(scopes) - 1
    ours = scopes[index]
    metrics = sorted([*ours.metrics, *extra], key=lambda m: _ORDER.get(m.name, len(_ORDER)))
    scopes[index] = ScopeMetrics(scope=ours.scope, metrics=metrics, schema_url=ours.schema_url)
    merged = ResourceMetrics(resource=first.resource, scope_metrics=scopes, schema_url=first.schema_url)
    return MetricsData(resource_metrics=[merged, *rest])


def hookable(meter_provider: Any) -> bool:
    """Whether `attach` can hook this provider's readers (an SDK MeterProvider whose readers are registered)."""
    try:
        if meter_provider._disabled:  # noqa: SLF001 - OTEL_SDK_DISABLED: the SDK records nothing, neither do cells
            return False
        readers = meter_provider._metric_readers  # noqa: SLF001 - the SDK 1.x offers no MetricProducer
        return all(reader._collect is not None for reader in readers)  # noqa: SLF001
    except AttributeError:
        return False


def attach(meter_provider: Any, cells: Callable[[], Iterable[CounterCell | HistogramCell]], scope: str) -> None:
    """Hook every reader of an SDK MeterProvider (see `hookable`) so that each collection includes the cells."""
    resource = meter_provider._sdk_config.resource  # noqa: SLF001
    for reader in meter_provider._metric_readers:  # noqa: SLF001
        reader._collect = _merging(reader._collect, cells, scope, resource)  # noqa: SLF001


def _merging(collect: Callable[..., Any], cells: Callable[[], Iterable[Any]], scope: str, resource: Any) -> Any:
    def merged_collect(reader: Any, *args: Any, **kwargs: Any) -> Any:
        return merge(collect(reader, *args, **kwargs), cells(), scope, resource)

    return merged_collect
