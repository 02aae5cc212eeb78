"""The one Settings object. The environment is read here and nowhere else.

Each field documents its environment variable, default and meaning; `Settings.from_env()` builds it once at startup and
`create_app(settings)` receives it. Tests build their own `Settings(...)` instead of patching `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_DB_URL = "sqlite:///./prompter.db"


def _env_field(env: str, default: Any, doc: str, *, secret: bool = False) -> Any:
    # A secret never appears in repr(settings), so a logged or printed Settings cannot leak it.
    return field(default=default, repr=not secret, metadata={"env": env, "doc": doc, "secret": secret})


@dataclass(frozen=True, slots=True)
class Settings:
    db_url: str = _env_field("DB_URL", DEFAULT_DB_URL, "Database URL: sqlite:///path or postgresql://user@host/db.")
    db_pool_size: int = _env_field("PROMPTER_DB_POOL_SIZE", 10, "Connections kept per process (PostgreSQL).")
    db_pool_timeout_s: float = _env_field(
        "PROMPTER_DB_POOL_TIMEOUT_S", 2.0, "Seconds to wait for a pooled connection before answering 503."
    )
    db_connect_timeout_s: float = _env_field(
        "PROMPTER_DB_CONNECT_TIMEOUT_S", 2.0, "Seconds to wait when opening a DB connection."
    )
    db_statement_timeout_s: float = _env_field(
        "PROMPTER_DB_STATEMENT_TIMEOUT_S", 5.0, "Per-statement timeout (PostgreSQL) so a stuck DB cannot hang requests."
    )
    db_auto_migrate: bool | None = _env_field(
        "PROMPTER_DB_AUTO_MIGRATE", None, "Run migrations at startup. Default: on for SQLite, off for PostgreSQL."
    )
    db_write_wait_s: float = _env_field(
        "PROMPTER_DB_WRITE_WAIT_S",
        10.0,
        "SQLite: seconds a write may wait in the in-process writer queue (one writer at a time) before answering 503.",
    )
    auth: str = _env_field(
        "PROMPTER_AUTH", "off", "`required`: every /api/* call needs a workspace API key. `off`: open (dev only)."
    )
    protected_labels: str = _env_field(
        "PROMPTER_PROTECTED_LABELS",
        "production",
        "Comma-separated labels only an `admin` key may move or delete (e.g. `production,prod`).",
    )
    max_body_bytes: int = _env_field("PROMPTER_MAX_BODY_BYTES", 256 * 1024, "Largest request body accepted (413).")
    max_template_bytes: int = _env_field("PROMPTER_MAX_TEMPLATE_BYTES", 64 * 1024, "Largest template body (UTF-8).")
    max_variables: int = _env_field("PROMPTER_MAX_VARIABLES", 100, "Most distinct {{ variables }} in one template.")
    # Issue 12 hardening (render bound, metric model allow-list): kept together until the settings sections land.
    max_rendered_bytes: int = _env_field(
        "PROMPTER_MAX_RENDERED_BYTES", 256 * 1024, "Largest rendered prompt (UTF-8), checked before rendering (422)."
    )
    metric_models: str | None = _env_field(
        "PROMPTER_METRIC_MODELS",
        None,
        "Comma-separated model ids labelled by name in metrics; all others are `other`. Unset: the first 50 ids a "
        "provider answered for.",
    )
    redis_url: str | None = _env_field("REDIS_URL", None, "Redis for the probe cache, e.g. redis://127.0.0.1:6379/0.")
    probe_ttl_s: float = _env_field(
        "PROMPTER_PROBE_TTL_S",
        300,
        "Seconds a probed model identity is reused from Redis (drift shows at most this late).",
    )
    redis_timeout_s: float = _env_field(
        "PROMPTER_REDIS_TIMEOUT_S", 0.25, "Connect/read timeout of one Redis call; a dead Redis costs at most this."
    )
    redis_health_interval_s: float = _env_field(
        "PROMPTER_REDIS_HEALTH_INTERVAL_S", 2.0, "Seconds between background Redis PINGs (prompter_redis_up, /readyz)."
    )
    probe_lock_ttl_s: float = _env_field(
        "PROMPTER_PROBE_LOCK_TTL_S",
        10.0,
        "Single flight: the probe lock expires after this if its holder never finishes.",
    )
    probe_lock_wait_s: float = _env_field(
        "PROMPTER_PROBE_LOCK_WAIT_S",
        5.0,
        "Single flight: longest wait for another request's probe before probing anyway.",
    )
    metrics_service: str = _env_field("METRICS_SERVICE", "prompter-api", "`service` label on every metric series.")
    metrics_env: str = _env_field("METRICS_ENV", "dev", "`env` label on every metric series.")
    metrics_basic_auth_user: str | None = _env_field(
        "METRICS_BASIC_AUTH_USER", None, "Protect /metrics (with _PASSWORD)."
    )
    metrics_basic_auth_password: str | None = _env_field(
        "METRICS_BASIC_AUTH_PASSWORD", None, "Password for /metrics basic auth (with _USER).", secret=True
    )
    telemetry: str = _env_field("PROMPTER_TELEMETRY", "on", "`off` disables metrics and traces (benchmarks).")
    log_level: str = _env_field("PROMPTER_LOG_LEVEL", "INFO", "Python log level.")
    otel_sdk_disabled: bool = _env_field("OTEL_SDK_DISABLED", False, "Standard OTel switch; true = no telemetry.")
    otel_service_name: str | None = _env_field(
        "OTEL_SERVICE_NAME", None, "service.name of traces (default METRICS_SERVICE)."
    )
    otlp_endpoint: str | None = _env_field(
        "OTEL_EXPORTER_OTLP_ENDPOINT", None, "OTLP/HTTP base URL (e.g. http://collector:4318); set = export traces."
    )
    otlp_traces_endpoint: str | None = _env_field(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None, "Full OTLP/HTTP traces URL; overrides the base URL for traces."
    )
    metrics_export: str = _env_field(
        "PROMPTER_METRICS_EXPORT", "prometheus", "`prometheus` (pull /metrics), `otlp` (push) or `both`."
    )
    trace_statements: bool = _env_field(
        "PROMPTER_TRACE_STATEMENTS",
        True,
        "One span per SQL/Redis statement (auto-instrumented). Off: request, domain and LLM spans only (cheaper).",
    )
    trace_content: bool = _env_field(
        "PROMPTER_TRACE_CONTENT", False, "Put prompt and output text on LLM spans (off: customer data stays out)."
    )
    fake_identity: str | None = _env_field(
        "PROMPTER_FAKE_IDENTITY", None, "Fake LLM identity overrides, e.g. `openai=fp_new` (demonstrates drift)."
    )
    openai_api_key: str | None = _env_field(
        "OPENAI_API_KEY", None, "Set = the `openai` provider calls the real API (else the fake LLM).", secret=True
    )
    openai_base_url: str = _env_field(
        "OPENAI_BASE_URL",
        "https://api.openai.com/v1",
        "OpenAI or any OpenAI-compatible server (vLLM, Ollama, LiteLLM).",
    )
    anthropic_api_key: str | None = _env_field(
        "ANTHROPIC_API_KEY", None, "Set = the `anthropic` provider calls the real Messages API.", secret=True
    )
    anthropic_base_url: str = _env_field("ANTHROPIC_BASE_URL", "https://api.anthropic.com", "Anthropic API base URL.")
    google_api_key: str | None = _env_field(
        "GOOGLE_API_KEY", None, "Set = the `google` provider calls the real Gemini API.", secret=True
    )
    gemini_api_key: str | None = _env_field(
        "GEMINI_API_KEY", None, "Alternative name for GOOGLE_API_KEY (used when that is unset).", secret=True
    )
    google_base_url: str = _env_field(
        "GOOGLE_BASE_URL", "https://generativelanguage.googleapis.com", "Gemini API base URL."
    )
    provider_timeout_s: float = _env_field(
        "PROMPTER_PROVIDER_TIMEOUT_S", 60.0, "Seconds one LLM HTTP attempt may take before answering 504."
    )
    provider_max_retries: int = _env_field(
        "PROMPTER_PROVIDER_MAX_RETRIES", 2, "Retries after an LLM 429 before answering 429 provider_rate_limited."
    )
    provider_max_retry_after_s: float = _env_field(
        "PROMPTER_PROVIDER_MAX_RETRY_AFTER_S", 10.0, "Longest Retry-After waited out; a longer one gives up at once."
    )
    # Web UI (service/ui/).
    trace_url: str | None = _env_field(
        "PROMPTER_TRACE_URL",
        None,
        "UI link from a result to its trace, e.g. http://localhost:16686/trace/{trace_id} (Jaeger). Unset: no link.",
    )
    ui_secret: str | None = _env_field(
        "PROMPTER_UI_SECRET",
        None,
        "Signs the UI's CSRF tokens; give every replica the same value. Unset: random per process.",
        secret=True,
    )

    def __post_init__(self) -> None:
        if self.trace_url is not None and (
            "{trace_id}" not in self.trace_url or not self.trace_url.startswith(("http://", "https://"))
        ):
            raise ValueError(
                f"PROMPTER_TRACE_URL={self.trace_url!r}: expected an http(s) URL containing {{trace_id}}, "
                "e.g. http://localhost:16686/trace/{trace_id}"
            )
        self.protected_label_set  # noqa: B018 - fail at startup, not on the first label move

    @property
    def protected_label_set(self) -> frozenset[str]:
        from service.labels.names import LABEL_PATTERN

        names = frozenset(item.strip() for item in self.protected_labels.split(",") if item.strip())
        bad = sorted(name for name in names if not LABEL_PATTERN.fullmatch(name))
        if bad:
            raise ValueError(
                f"PROMPTER_PROTECTED_LABELS={self.protected_labels!r}: {', '.join(bad)} is not a label name; "
                f"allowed: comma-separated names matching {LABEL_PATTERN.pattern}"
            )
        return names

    @property
    def telemetry_enabled(self) -> bool:
        return self.telemetry.lower() not in {"off", "false", "0"} and not self.otel_sdk_disabled

    @property
    def auth_required(self) -> bool:
        return self.auth.lower() == "required"

    @property
    def auto_migrate(self) -> bool:
        if self.db_auto_migrate is not None:
            return self.db_auto_migrate
        return self.db_url.startswith("sqlite")

    @property
    def traces_endpoint(self) -> str | None:
        if self.otlp_traces_endpoint:
            return self.otlp_traces_endpoint
        return f"{self.otlp_endpoint.rstrip('/')}/v1/traces" if self.otlp_endpoint else None

    @property
    def metrics_push_endpoint(self) -> str | None:
        if self.metrics_export not in {"otlp", "both"} or not self.otlp_endpoint:
            return None
        return f"{self.otlp_endpoint.rstrip('/')}/v1/metrics"

    @property
    def fake_identity_overrides(self) -> dict[str, str]:
        pairs = (item.partition("=") for item in (self.fake_identity or "").split(",") if item.strip())
        return {provider.strip(): identity.strip() for provider, _, identity in pairs if identity.strip()}

    @property
    def google_key(self) -> str | None:
        return self.google_api_key or self.gemini_api_key

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(raw, str(f.type), f.metadata["env"])
        values.update(overrides)
        return cls(**values)

    @classmethod
    def documented_fields(cls) -> list[tuple[str, Any, str]]:
        """(env name, default, doc) for every setting: the README's configuration table is checked against this."""
        return [(f.metadata["env"], f.default, f.metadata["doc"]) for f in fields(cls)]


def config_table_markdown() -> str:
    """The README's configuration table, generated from the fields (a test keeps the README equal to this)."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for env, default, doc in Settings.documented_fields():
        shown = "–" if default is None else f"`{str(default).lower() if isinstance(default, bool) else default}`"
        lines.append(f"| `{env}` | {shown} | {doc.replace('|', '/')} |")
    return "\n".join(lines)


def _coerce(raw: str, annotation: str, env: str) -> Any:
    """Convert by the field's annotation (a string under `from __future__ import annotations`)."""
    kind = annotation.split("|")[0].strip()
    try:
        if kind == "bool":
            return _parse_bool(raw, env)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"{env}={raw!r} is not a valid value: {exc}") from None
    return raw


def _parse_bool(raw: str, env: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{env}={raw!r}: expected true/false")
