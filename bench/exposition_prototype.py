"""What-if for the /metrics scrape target: encode the SDK's MetricsData straight to the Prometheus text format.

The stock path (opentelemetry-exporter-prometheus -> prometheus_client.generate_latest) converts every data point into
prometheus_client metric families, then validates and escapes every label name of every sample while formatting.
This prototype takes the MetricsData a MetricReader collects and writes the text itself: label names come from the
contract (valid by construction), each series' label string is built once per data point and shared by a histogram's
bucket lines. bench/micro.py checks that it exposes exactly the same samples as the stock path and times both.
It is a measurement aid, not wired into the app.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics.export import Histogram, MetricsData, Sum
from prometheus_client.utils import floatToGoString

from telemetry import contract as c

_PROMETHEUS_NAMES = {i.otel_name: i for i in c.CONTRACT}


def _label_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\\" in text or '"' in text or "\n" in text:
        text = text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return text


def encode(data: MetricsData, resource_labels: frozenset[str]) -> bytes:
    out: list[str] = []
    for resource_metrics in data.resource_metrics:
        common = {k: v for k, v in resource_metrics.resource.attributes.items() if k in resource_labels}
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                instrument = _PROMETHEUS_NAMES.get(metric.name)
                if instrument is None or not metric.data.data_points:
                    continue
                _family(out, instrument, metric, common)
    return "".join(out).encode()


def _family(out: list[str], instrument: c.Instrument, metric: Any, common: dict[str, Any]) -> None:
    points = metric.data.data_points
    keys = sorted({*common, *(k.replace(".", "_") for p in points for k in p.attributes)})
    name = instrument.prometheus
    histogram = isinstance(metric.data, Histogram)
    kind = "counter" if isinstance(metric.data, Sum) else "histogram" if histogram else "gauge"
    out.append(f"# HELP {name} {metric.description}\n# TYPE {name} {kind}\n")
    le_cache: dict[tuple[float, ...], list[str]] = {}
    for point in points:
        labels = {**common, **{k.replace(".", "_"): v for k, v in point.attributes.items()}}
        label_text = ",".join(f'{k}="{_label_value(labels.get(k, ""))}"' for k in keys)
        if histogram:
            bounds = tuple(point.explicit_bounds)
            les = le_cache.get(bounds)
            if les is None:
                les = le_cache[bounds] = [f'le="{floatToGoString(b)}"}} ' for b in bounds] + ['le="+Inf"} ']
            prefix = f"{name}_bucket{{{label_text}," if label_text else f"{name}_bucket{{"
            cumulative = 0
            for le, count in zip(les, point.bucket_counts, strict=True):
                cumulative += count
                out.append(f"{prefix}{le}{float(cumulative)!r}\n")
            out.append(f"{name}_count{{{label_text}}} {float(point.count)!r}\n")
            out.append(f"{name}_sum{{{label_text}}} {floatToGoString(point.sum)}\n")
        else:
            out.append(f"{name}{{{label_text}}} {floatToGoString(point.value)}\n")
