"""Build the OpenTelemetry providers, readers, exporters and instrumentors for one app. Nothing global is set.

Providers are injectable (`setup_telemetry(config, meter_provider=..., tracer_provider=...)`) so tests use in-memory
readers and exporters. Each app gets its own Prometheus registry, so several apps can live in one test process.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import TracerProvider as TracerProviderApi
from prometheus_client import CollectorRegistry

from telemetry import cells
from telemetry import contract as c
from telemetry.child_spans import ChildSpansOnlyTracerProvider
from telemetry.export_logs import quiet_exporter_logs
from telemetry.labels import LabelBounds
from telemetry.port import Telemetry

log = logging.getLogger("prompter.telemetry")

SCOPE = "prompter"
# Which resource attributes become labels on every Prometheus series (the contract's `service` and `env`).
_SERIES_RESOURCE_ATTRIBUTES = frozenset(c.COMMON_LABELS)


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    enabled: bool = True
    service: str = "prompter-api"
    env: str = "dev"
    otel_service_name: str | None = None
    otlp_traces_endpoint: str | None = None  # full URL of the OTLP/HTTP traces endpoint (…/v1/traces)
    otlp_metrics_endpoint: str | None = None  # set = also push metrics over OTLP (…/v1/metrics)
    otlp_metrics_interval_s: float = 10.0
    export_timeout_s: float = 5.0
    prometheus: bool = True
    capture_content: bool = False
    statement_spans: bool = True  # SQLAlchemy / Redis auto-instrumentation (the costliest spans: bench/)
    # `process`: finished spans go to an exporter process (telemetry/span_relay.py); `inline`: BatchSpanProcessor here.
    span_export: str = "process"
    resource_attributes: dict[str, str] = field(default_factory=dict)
    providers: frozenset[str] = frozenset()  # `provider` label values (the service's allow-list); others -> `other`
    metric_models: frozenset[str] | None = None  # PROMPTER_METRIC_MODELS: the only model ids labelled by name
    metric_labels: frozenset[str] = frozenset()  # PROMPTER_METRIC_LABELS: label names labelled by name, else `other`


@dataclass(slots=True)
class TelemetryHandle:
    telemetry: Telemetry
    config: TelemetryConfig
    meter_provider: MeterProvider | None = None
    tracer_provider: TracerProviderApi | None = None
    registry: CollectorRegistry | None = None
    prometheus_reader: Any = None  # telemetry.exposition.PrometheusTextReader when /metrics is served
    span_relay: Any = None  # telemetry.span_relay.SpanRelay when spans go to an exporter process
    _closed: bool = False

    def prometheus_text(self) -> bytes | None:
        """/metrics in the Prometheus text format, by the fast writer (None when metrics are not served here)."""
        return self.prometheus_reader.text() if self.prometheus_reader is not None else None

    @property
    def tracing(self) -> bool:
        return self.tracer_provider is not None

    def _library_tracer_provider(self) -> TracerProviderApi:
        assert self.tracer_provider is not None
        return ChildSpansOnlyTracerProvider(self.tracer_provider)

    def instrument_engine(self, engine: Any) -> None:
        """Auto-instrument a SQLAlchemy (async) engine: one span per statement under the current recorded span, by the
        instrumentor's EngineTracer made lean (telemetry/statements.py)."""
        if not self.tracing or not self.config.statement_spans:
            return
        from telemetry import relayed_spans
        from telemetry.statements import StatementTracer

        assert self.tracer_provider is not None
        tracer = self.tracer_provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
        # The instrumentor's own connection-usage metric would add series outside the contract: give it a no-op meter.
        usage = NoOpMeterProvider().get_meter("noop").create_up_down_counter("db.client.connections.usage")
        relayed = None
        if relayed_spans.usable(tracer, self.span_relay):
            relayed = relayed_spans.StatementSpans(tracer, self.span_relay)  # type: ignore[arg-type]
        StatementTracer(tracer, getattr(engine, "sync_engine", engine), usage, relayed=relayed)

    def instrument_redis(self, client: Any) -> None:
        if not self.tracing or not self.config.statement_spans:
            return
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor.instrument_client(client, tracer_provider=self._library_tracer_provider())

    def instrument_httpx(self, client: Any) -> None:
        if not self.tracing:
            return
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=self._library_tracer_provider())

    def shutdown(self) -> None:
        """Flush spans and metrics (bounded by the exporters' timeouts); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for provider in (self.tracer_provider, self.meter_provider):
            shutdown = getattr(provider, "shutdown", None)
            if shutdown is None:
                continue
            try:
                shutdown()
            except Exception:
                log.warning("telemetry shutdown failed", exc_info=True)


def setup_telemetry(
    config: TelemetryConfig,
    *,
    meter_provider: MeterProvider | None = None,
    tracer_provider: TracerProviderApi | None = None,
) -> TelemetryHandle:
    if not config.enabled:
        return TelemetryHandle(Telemetry.disabled(), config)
    quiet_exporter_logs()

    resource = _resource(config)
    registry: CollectorRegistry | None = None
    prometheus_reader: MetricReader | None = None
    if meter_provider is None:
        readers: list[MetricReader] = []
        if config.prometheus:
            registry = CollectorRegistry(auto_describe=True)
            prometheus_reader = _prometheus_reader(registry)
            readers.append(prometheus_reader)
        if config.otlp_metrics_endpoint:
            readers.append(_otlp_metric_reader(config))
        meter_provider = MeterProvider(
            resource=resource, metric_readers=readers, views=contract_views(), exemplar_filter=_exemplar_filter()
        )

    span_relay = None
    if tracer_provider is None and config.otlp_traces_endpoint:
        tracer_provider = TracerProvider(resource=resource)
        if config.span_export == "process":
            span_relay = _span_relay(config)
            tracer_provider.add_span_processor(span_relay)
        else:
            tracer_provider.add_span_processor(BatchSpanProcessor(_otlp_span_exporter(config)))

    # Counters and histograms as plain cells merged into each collection (telemetry/cells.py), unless exemplars are
    # asked for (only the SDK's record path samples them) or the provider's readers cannot be hooked.
    use_cells = cells.hookable(meter_provider) and not os.environ.get("OTEL_METRICS_EXEMPLAR_FILTER")
    tracer = tracer_provider.get_tracer(SCOPE) if tracer_provider is not None else None
    if span_relay is not None:
        from telemetry import relayed_spans

        if relayed_spans.usable(tracer, span_relay):
            tracer = relayed_spans.RelayTracer(tracer, span_relay)  # type: ignore[arg-type]
    telemetry = Telemetry(
        meter_provider.get_meter(SCOPE),
        tracer,
        capture_content=config.capture_content,
        labels=LabelBounds(config.providers, allowed_models=config.metric_models, label_names=config.metric_labels),
        cells=use_cells,
    )
    if use_cells:
        cells.attach(meter_provider, telemetry.cells, SCOPE)
    return TelemetryHandle(
        telemetry, config, meter_provider, tracer_provider, registry, prometheus_reader, span_relay=span_relay
    )


def _exemplar_filter() -> Any:
    """Exemplars off unless asked for with the standard OTEL_METRICS_EXEMPLAR_FILTER (the SDK then reads it itself):
    the SDK's default, trace_based, samples an exemplar into every measurement made under a sampled span - work on
    the request path that the Prometheus text format never shows."""
    if os.environ.get("OTEL_METRICS_EXEMPLAR_FILTER"):
        return None
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter

    return AlwaysOffExemplarFilter()


def contract_views() -> list[View]:
    """Explicit buckets for every contract histogram. Named views only: a wildcard view would also match these
    instruments and create a second stream with the same Prometheus name, which breaks the scrape. Explicit buckets also
    mean no environment variable can switch a contract histogram to exponential aggregation (which the Prometheus
    exporter cannot render)."""
    return [
        View(instrument_name=i.otel_name, aggregation=ExplicitBucketHistogramAggregation(list(i.buckets or ())))
        for i in c.CONTRACT
        if i.kind == "histogram"
    ]


def _resource(config: TelemetryConfig) -> Resource:
    """Precedence, lowest first: our defaults (service.name = METRICS_SERVICE), the standard OTEL_RESOURCE_ATTRIBUTES /
    OTEL_SERVICE_NAME, explicit settings, and last the `service`/`env` series labels (always METRICS_SERVICE/_ENV)."""
    defaults = Resource.create({"service.name": config.service, "deployment.environment.name": config.env})
    from_env = OTELResourceDetector().detect()
    explicit: dict[str, Any] = dict(config.resource_attributes)
    if config.otel_service_name:
        explicit["service.name"] = config.otel_service_name
    series = {"service": config.service, "env": config.env}
    return defaults.merge(from_env).merge(Resource(explicit)).merge(Resource(series))


def _prometheus_reader(registry: CollectorRegistry) -> MetricReader:
    # The exporter's PrometheusMetricReader, plus a faster text writer for /metrics (telemetry/exposition.py).
    from telemetry.exposition import PrometheusTextReader

    return PrometheusTextReader(
        disable_target_info=True,
        scope_info_enabled=False,
        resource_attribute_filter=lambda key: key in _SERIES_RESOURCE_ATTRIBUTES,
        registry=registry,
    )


def _otlp_metric_reader(config: TelemetryConfig) -> MetricReader:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import Counter, Histogram, ObservableCounter, UpDownCounter
    from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader

    cumulative = AggregationTemporality.CUMULATIVE
    exporter = OTLPMetricExporter(
        endpoint=config.otlp_metrics_endpoint,
        timeout=config.export_timeout_s,
        preferred_temporality={
            Counter: cumulative,
            UpDownCounter: cumulative,
            Histogram: cumulative,
            ObservableCounter: cumulative,
        },
    )
    return PeriodicExportingMetricReader(
        exporter,
        export_interval_millis=config.otlp_metrics_interval_s * 1000,
        export_timeout_millis=config.export_timeout_s * 1000,
    )


def _otlp_span_exporter(config: TelemetryConfig) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=config.otlp_traces_endpoint, timeout=config.export_timeout_s)


def _span_relay(config: TelemetryConfig) -> Any:
    """Spans exported by a separate process (python -m telemetry.span_export_process), in process if it cannot run."""
    from telemetry.span_relay import SpanRelay, exporter_command

    assert config.otlp_traces_endpoint is not None
    return SpanRelay(
        exporter_command(config.otlp_traces_endpoint, config.export_timeout_s),
        lambda: _otlp_span_exporter(config),
        timeout_s=config.export_timeout_s,
    )
