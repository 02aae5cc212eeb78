"""A bare Litestar app with the same GET /healthz route as Prompter's, in three variants, for the comparison with
Litestar's own telemetry plugins:

  bare        no telemetry at all (the baseline for the two below)
  prometheus  litestar.plugins.prometheus: PrometheusConfig's middleware + PrometheusController at /metrics
  otel        litestar.plugins.opentelemetry.OpenTelemetryPlugin, traces over OTLP/HTTP (100 % sampling, batched) and
              metrics through a Prometheus reader - the same export shape as Prompter's "metrics + traces" setup

Served by uvicorn as a factory: `BENCH_LITESTAR_VARIANT=otel BENCH_OTLP_ENDPOINT=http://127.0.0.1:4318
uvicorn bench.litestar_app:app --factory`. micro.py builds the same apps in-process through `create_app`.
"""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar, get


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


VARIANTS = ("bare", "prometheus", "otel")


def create_app(
    variant: str = "bare", *, otlp_endpoint: str | None = None, tracer_provider: Any = None, meter_provider: Any = None
) -> Litestar:
    if variant == "bare":
        return Litestar(route_handlers=[healthz], openapi_config=None)
    if variant == "prometheus":
        from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

        config = PrometheusConfig(app_name="bench")
        return Litestar(
            route_handlers=[healthz, PrometheusController], middleware=[config.middleware], openapi_config=None
        )
    if variant == "otel":
        from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

        if tracer_provider is None:
            tracer_provider = _otlp_tracer_provider(otlp_endpoint)
        if meter_provider is None:
            meter_provider = _prometheus_meter_provider()
        config = OpenTelemetryConfig(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return Litestar(route_handlers=[healthz], plugins=[OpenTelemetryPlugin(config)], openapi_config=None)
    raise ValueError(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")


def _otlp_tracer_provider(endpoint: str | None) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if not endpoint:
        raise ValueError("the otel variant needs BENCH_OTLP_ENDPOINT (an OTLP/HTTP base URL)")
    # service.name = the harness's server name, so its spans can be matched to the requests it was sent.
    provider = TracerProvider(resource=Resource.create({"service.name": "litestar-otel"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    return provider


def _prometheus_meter_provider() -> Any:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import CollectorRegistry

    return MeterProvider(metric_readers=[PrometheusMetricReader(registry=CollectorRegistry(auto_describe=True))])


def app() -> Litestar:
    """uvicorn factory: the variant and OTLP endpoint come from the harness through the environment."""
    return create_app(
        os.environ.get("BENCH_LITESTAR_VARIANT", "bare"), otlp_endpoint=os.environ.get("BENCH_OTLP_ENDPOINT")
    )
