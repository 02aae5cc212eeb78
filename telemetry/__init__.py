"""The telemetry port. Domain code depends on `Telemetry` (record_* calls, timers, spans); `setup_telemetry` builds it."""

from telemetry.port import LLMCall, Telemetry
from telemetry.setup import TelemetryConfig, TelemetryHandle, setup_telemetry

__all__ = ["LLMCall", "Telemetry", "TelemetryConfig", "TelemetryHandle", "setup_telemetry"]
