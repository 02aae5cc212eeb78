"""setup_telemetry honours the standard OTEL_* variables and builds nothing it was not asked for."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider

from service.settings import Settings
from telemetry import TelemetryConfig, setup_telemetry

UNUSED_ENDPOINT = "http://127.0.0.1:9/v1/traces"  # never contacted: nothing is exported in these tests


def test_no_tracer_without_an_endpoint() -> None:
    handle = setup_telemetry(TelemetryConfig())
    assert handle.tracing is False and handle.telemetry.tracing is False
    assert handle.registry is not None
    handle.shutdown()


def test_sampler_comes_from_otel_traces_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    handle = setup_telemetry(TelemetryConfig(otlp_traces_endpoint=UNUSED_ENDPOINT))
    assert isinstance(handle.tracer_provider, TracerProvider)
    assert "TraceIdRatioBased{0.25}" in handle.tracer_provider.sampler.get_description()
    handle.shutdown()


def test_service_name_and_resource_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,service=ignored,team=a")
    settings = Settings.from_env(
        {
            "OTEL_SERVICE_NAME": "prompter-traces",
            "METRICS_SERVICE": "prompter-api",
            "METRICS_ENV": "prod",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        }
    )
    config = settings.telemetry.config()
    assert config.otlp_traces_endpoint == "http://127.0.0.1:9/v1/traces"
    handle = setup_telemetry(config)
    attributes = dict(handle.tracer_provider.resource.attributes)
    assert attributes["service.name"] == "prompter-traces"
    assert attributes["deployment.environment.name"] == "staging"
    assert attributes["team"] == "a"
    # The series labels always come from METRICS_SERVICE / METRICS_ENV.
    assert (attributes["service"], attributes["env"]) == ("prompter-api", "prod")
    handle.shutdown()


def test_disabled_builds_nothing() -> None:
    handle = setup_telemetry(TelemetryConfig(enabled=False, otlp_traces_endpoint=UNUSED_ENDPOINT))
    assert handle.telemetry.enabled is False
    assert handle.meter_provider is None and handle.tracer_provider is None and handle.registry is None
    handle.shutdown()
