"""The metric contract: every instrument's name, kind, unit, labels and buckets - the single source of metric names.

A Grafana dashboard queries the Prometheus names letter for letter. The OTel instrument names below are chosen so that
opentelemetry-exporter-prometheus produces exactly those names: it appends `_total` to counters and the unit suffix
(`s` -> `_seconds`) unless the name already ends with it, and adds nothing for unit "1" or "". A test scrapes /metrics
and compares against `prometheus_names()`; another compares the README's table with this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "histogram", "gauge"]

# Seconds-sized buckets: the SDK default buckets are millisecond-sized (0, 5, 10, ... 10000).
HTTP_SECONDS_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
# The GenAI semantic conventions' advised buckets for gen_ai.client.operation.duration and token usage.
GENAI_DURATION_BUCKETS: tuple[float, ...] = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
GENAI_TOKEN_BUCKETS: tuple[float, ...] = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)

# Labels every series carries, from METRICS_SERVICE / METRICS_ENV (resource attributes copied onto each series).
COMMON_LABELS: tuple[str, ...] = ("service", "env")

# Bounded label values.
UNMATCHED_ROUTE = "<unmatched>"
OTHER = "other"
MODEL_ID_LABEL_LIMIT = 50
# Of those, how many one org/workspace may take (telemetry/labels.py).
MODEL_ID_TENANT_LIMIT = 10
# Tables whose unique constraints report duplicates: their prompter_db_unique_violation_total series start at 0.
DB_UNIQUE_TABLES: tuple[str, ...] = ("prompt_templates",)
# Label moves by kind; `protected` is "true" or "false". Every combination starts at 0.
LABEL_MOVE_KINDS: tuple[str, ...] = ("move", "rollback", "delete", "split", "promote", "complete", "abort", "hold")
# prompter_observations_total{source, fate}: every combination starts at 0.
OBSERVATION_SOURCES: tuple[str, ...] = ("api", "otlp")
OBSERVATION_FATES: tuple[str, ...] = ("accepted", "duplicate", "rejected")
# prompter_label_calls_total{label, provider, outcome}; `label` is a PROMPTER_METRIC_LABELS name or `other`.
LABEL_CALL_OUTCOMES: tuple[str, ...] = ("ok", "error")
# Split labels: an arm's `variant` is its index in the split, "0" (baseline) to "4"; rollout decisions by action.
SPLIT_VARIANTS: tuple[str, ...] = ("0", "1", "2", "3", "4")
ROLLOUT_ACTIONS: tuple[str, ...] = ("promote", "complete", "abort", "hold")
# prompter_webhook_deliveries_total{outcome}: how one delivery attempt ended; every value starts at 0.
# success (2xx), http_error (another status), timeout, connection_error (refused, reset, DNS), refused (the URL now
# resolves to an address the SSRF rule refuses).
WEBHOOK_OUTCOMES: tuple[str, ...] = ("success", "http_error", "timeout", "connection_error", "refused")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# prompter_auth_failure_total{reason}: API keys (missing ... read_only_key), a write key moving a protected label
# (protected_label) and /metrics basic auth (metrics_*).
AUTH_FAILURE_REASONS = frozenset(
    {
        "missing",
        "malformed",
        "unknown",
        "revoked",
        "read_only_key",
        "ingest_only_key",
        "protected_label",
        "metrics_missing",
        "metrics_malformed",
        "metrics_wrong_credentials",
        "metrics_misconfigured",
    }
)


@dataclass(frozen=True, slots=True)
class Instrument:
    key: str
    otel_name: str
    kind: Kind
    unit: str
    description: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None
    prometheus: str = ""  # the exposed family name (histograms add _bucket/_sum/_count)


HTTP_REQUESTS = Instrument(
    "http_requests",
    "starlette_requests",
    "counter",
    "1",
    "HTTP requests by route template and status.",
    ("method", "route", "status"),
    prometheus="starlette_requests_total",
)
HTTP_DURATION = Instrument(
    "http_duration",
    "starlette_requests_processing_seconds",
    "histogram",
    "s",
    "HTTP request processing time.",
    ("method", "route"),
    HTTP_SECONDS_BUCKETS,
    prometheus="starlette_requests_processing_seconds",
)
DB_UNIQUE_VIOLATION = Instrument(
    "db_unique_violation",
    "prompter_db_unique_violation",
    "counter",
    "1",
    "Duplicates blocked by a DB constraint.",
    ("table",),
    prometheus="prompter_db_unique_violation_total",
)
ENSURE_VERSION = Instrument(
    "ensure_version",
    "prompter_ensure_version_seconds",
    "histogram",
    "s",
    "Time to ensure a prompt version.",
    ("provider",),
    HTTP_SECONDS_BUCKETS,
    prometheus="prompter_ensure_version_seconds",
)
RESULTS_INSERT = Instrument(
    "results_insert",
    "prompter_prompt_results_insert",
    "counter",
    "1",
    "Result rows committed.",
    prometheus="prompter_prompt_results_insert_total",
)
FINGERPRINT_PRESENT = Instrument(
    "fingerprint_present",
    "prompter_openai_fingerprint_present",
    "counter",
    "1",
    "Committed results carrying a non-empty system_fingerprint.",
    prometheus="prompter_openai_fingerprint_present_total",
)
REDIS_UP = Instrument(
    "redis_up",
    "prompter_redis_up",
    "gauge",
    "1",
    "1 when Redis answers, 0 when it does not or is not configured.",
    prometheus="prompter_redis_up",
)
PROBE_ATTEMPT = Instrument(
    "probe_attempt",
    "prompter_probe_attempt",
    "counter",
    "1",
    "Provider probes attempted.",
    ("provider", "model_id"),
    prometheus="prompter_probe_attempt_total",
)
PROBE_FAILURE = Instrument(
    "probe_failure",
    "prompter_probe_failure",
    "counter",
    "1",
    "Provider probes that failed.",
    ("provider", "model_id"),
    prometheus="prompter_probe_failure_total",
)
CACHE_HIT = Instrument(
    "cache_hit",
    "prompter_cache_hit",
    "counter",
    "1",
    "Probe-cache lookups answered from Redis.",
    prometheus="prompter_cache_hit_total",
)
CACHE_MISS = Instrument(
    "cache_miss",
    "prompter_cache_miss",
    "counter",
    "1",
    "Probe-cache lookups that had to probe the provider.",
    prometheus="prompter_cache_miss_total",
)
MODEL_DRIFT = Instrument(
    "model_drift",
    "prompter_model_drift",
    "counter",
    "1",
    "ensure-version found a changed model identity.",
    ("provider", "model_id"),
    prometheus="prompter_model_drift_total",
)
AUTH_FAILURE = Instrument(
    "auth_failure",
    "prompter_auth_failure",
    "counter",
    "1",
    "Refused API calls by reason (no key in labels).",
    ("reason",),
    prometheus="prompter_auth_failure_total",
)
LABEL_MOVES = Instrument(
    "label_moves",
    "prompter_label_moves",
    "counter",
    "1",
    "Label moves, rollbacks and deletes committed (the label name is a span attribute, never a metric label).",
    ("protected", "kind"),
    prometheus="prompter_label_moves_total",
)
LABEL_DRIFT = Instrument(
    "label_drift",
    "prompter_label_drift",
    "counter",
    "1",
    "Runs through a label whose reported model identity differed from the one the labelled version was pinned to.",
    ("provider",),
    prometheus="prompter_label_drift_total",
)
RESPONSE_SCHEMA_VIOLATIONS = Instrument(
    "response_schema_violations",
    "prompter_response_schema_violations",
    "counter",
    "1",
    "Runs of a version with a response_format whose output was not JSON valid against its schema.",
    ("provider",),
    prometheus="prompter_response_schema_violations_total",
)
OBSERVATIONS = Instrument(
    "observations",
    "prompter_observations",
    "counter",
    "1",
    "Observations received by source (api, otlp) and fate (accepted, duplicate, rejected).",
    ("source", "fate"),
    prometheus="prompter_observations_total",
)
LABEL_CALLS = Instrument(
    "label_calls",
    "prompter_label_calls",
    "counter",
    "1",
    "Provider calls through a label - runs and observations - by label (capped set, else `other`), provider and "
    "outcome (ok, error).",
    ("label", "provider", "outcome"),
    prometheus="prompter_label_calls_total",
)
LABEL_CALL_DURATION = Instrument(
    "label_call_duration",
    "prompter_label_call_duration_seconds",
    "histogram",
    "s",
    "Latency of provider calls through a label (runs and observations that reported it).",
    ("label", "provider"),
    GENAI_DURATION_BUCKETS,
    prometheus="prompter_label_call_duration_seconds",
)
SPLIT_CALLS = Instrument(
    "split_calls",
    "prompter_split_calls",
    "counter",
    "1",
    "Provider calls through a split label - runs and observations - by label (capped set, else `other`), arm "
    "(`variant` 0-4, 0 the baseline) and outcome (ok, error): each arm's traffic share and error rate.",
    ("label", "variant", "outcome"),
    prometheus="prompter_split_calls_total",
)
SPLIT_CALL_SECONDS = Instrument(
    "split_call_seconds",
    "prompter_split_call_seconds",
    "counter",
    "s",
    "Summed latency of the calls through a split label that reported one, by label and arm (with "
    "prompter_split_timed_calls_total: each arm's mean latency, two series per arm instead of a histogram).",
    ("label", "variant"),
    prometheus="prompter_split_call_seconds_total",
)
SPLIT_TIMED_CALLS = Instrument(
    "split_timed_calls",
    "prompter_split_timed_calls",
    "counter",
    "1",
    "Calls through a split label that reported a latency, by label and arm.",
    ("label", "variant"),
    prometheus="prompter_split_timed_calls_total",
)
SPLIT_DRIFT = Instrument(
    "split_drift",
    "prompter_split_drift",
    "counter",
    "1",
    "Calls through a split label whose reported model identity was not the one their arm's version was pinned to.",
    ("label", "variant"),
    prometheus="prompter_split_drift_total",
)
ROLLOUT_CANARY_WEIGHT = Instrument(
    "rollout_canary_weight",
    "prompter_rollout_canary_weight",
    "gauge",
    "1",
    "A rollout's current canary weight (its step), by label, set by the rollout worker at each analysis; 100 once "
    "complete, 0 once aborted.",
    ("label",),
    prometheus="prompter_rollout_canary_weight",
)
ROLLOUT_DECISIONS = Instrument(
    "rollout_decisions",
    "prompter_rollout_decisions",
    "counter",
    "1",
    "Rollout decisions by label and action (promote, complete, abort, hold): the dashboard's annotations.",
    ("label", "action"),
    prometheus="prompter_rollout_decisions_total",
)
WEBHOOK_DELIVERIES = Instrument(
    "webhook_deliveries",
    "prompter_webhook_deliveries",
    "counter",
    "1",
    "Webhook delivery attempts by outcome (success, http_error, timeout, connection_error, refused).",
    ("outcome",),
    prometheus="prompter_webhook_deliveries_total",
)
WEBHOOK_DELIVERY_DURATION = Instrument(
    "webhook_delivery_duration",
    "prompter_webhook_delivery_duration_seconds",
    "histogram",
    "s",
    "Time one webhook delivery attempt took, until the receiver answered or the attempt failed.",
    ("outcome",),
    HTTP_SECONDS_BUCKETS,
    prometheus="prompter_webhook_delivery_duration_seconds",
)
WEBHOOK_OUTBOX_LAG = Instrument(
    "webhook_outbox_lag",
    "prompter_webhook_outbox_lag_seconds",
    "gauge",
    "s",
    "Age of the oldest event not yet delivered to every endpoint (0 when none waits), as this replica last saw it.",
    prometheus="prompter_webhook_outbox_lag_seconds",
)
GENAI_DURATION = Instrument(
    "genai_duration",
    "gen_ai.client.operation.duration",
    "histogram",
    "s",
    "GenAI operation duration.",
    ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_response_model", "error_type"),
    GENAI_DURATION_BUCKETS,
    prometheus="gen_ai_client_operation_duration_seconds",
)
GENAI_TOKENS = Instrument(
    "genai_tokens",
    "gen_ai.client.token.usage",
    "histogram",
    "{token}",
    "Tokens used per GenAI operation.",
    (
        "gen_ai_operation_name",
        "gen_ai_provider_name",
        "gen_ai_request_model",
        "gen_ai_response_model",
        "gen_ai_token_type",
    ),
    GENAI_TOKEN_BUCKETS,
    prometheus="gen_ai_client_token_usage",
)

CONTRACT: tuple[Instrument, ...] = (
    HTTP_REQUESTS,
    HTTP_DURATION,
    DB_UNIQUE_VIOLATION,
    ENSURE_VERSION,
    RESULTS_INSERT,
    FINGERPRINT_PRESENT,
    REDIS_UP,
    PROBE_ATTEMPT,
    PROBE_FAILURE,
    CACHE_HIT,
    CACHE_MISS,
    MODEL_DRIFT,
    GENAI_DURATION,
    GENAI_TOKENS,
    AUTH_FAILURE,
    LABEL_MOVES,
    LABEL_DRIFT,
    RESPONSE_SCHEMA_VIOLATIONS,
    OBSERVATIONS,
    LABEL_CALLS,
    LABEL_CALL_DURATION,
    SPLIT_CALLS,
    SPLIT_CALL_SECONDS,
    SPLIT_TIMED_CALLS,
    SPLIT_DRIFT,
    ROLLOUT_CANARY_WEIGHT,
    ROLLOUT_DECISIONS,
    WEBHOOK_DELIVERIES,
    WEBHOOK_DELIVERY_DURATION,
    WEBHOOK_OUTBOX_LAG,
)


def prometheus_names() -> dict[str, Instrument]:
    return {instrument.prometheus: instrument for instrument in CONTRACT}


def exposed_series_names(instrument: Instrument) -> tuple[str, ...]:
    if instrument.kind == "histogram":
        return tuple(f"{instrument.prometheus}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return (instrument.prometheus,)
