"""The typed sections of Settings: db, auth, limits, server, redis, telemetry, providers, ui, mcp.

Each field is declared with `setting(ENV, default, doc, ...)`: its environment variable, default, one-line doc and its
allowed values (a Literal, a range, or `allowed=` text) - the README's configuration table is generated from them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo

from service.vocabulary import DEFAULT_LABEL, LABEL_PATTERN
from telemetry.labels import parse_model_list
from telemetry.setup import TelemetryConfig

DEFAULT_DB_URL = "sqlite:///./prompter.db"
KiB, MiB = 1024, 1024 * 1024
# The cardinality budget of the production-traffic metrics' `label` label (PROMPTER_METRIC_LABELS).
MAX_METRIC_LABELS = 20


def _empty_is_unset(value: Any) -> Any:
    return None if value == "" else value


# An optional text setting (a URL, a key) given as `VAR=` is unset, as compose files and shells write it. Everything
# else - an enumeration, a boolean, a number - must be given a real value: an empty one is refused.
OptionalText = Annotated[str | None, BeforeValidator(_empty_is_unset)]


def setting(
    env: str, default: Any, doc: str, *, secret: bool = False, allowed: str | None = None, **limits: Any
) -> Any:
    # A secret never appears in repr(settings), so a logged or printed Settings cannot leak it.
    extra: JsonDict = {"env": env, "secret": secret, "allowed": allowed}
    return Field(default, description=doc, repr=not secret, json_schema_extra=extra, **limits)


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, validate_default=False)


class DatabaseSettings(Section):
    url: str = setting(
        "DB_URL",
        DEFAULT_DB_URL,
        "Database URL: sqlite:///path or postgresql://user@host/db.",
        allowed="sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB",
    )
    pool_size: int = setting("PROMPTER_DB_POOL_SIZE", 10, "Connections kept per process (PostgreSQL).", ge=1, le=1000)
    sqlite_pool_size: int = setting(
        "PROMPTER_DB_SQLITE_POOL_SIZE",
        4,
        "SQLite: connections per process (each has its own thread; one writes at a time, the others read).",
        ge=1,
        le=64,
    )
    pool_timeout_s: float = setting(
        "PROMPTER_DB_POOL_TIMEOUT_S", 2.0, "Seconds to wait for a pooled connection before answering 503.", gt=0, le=600
    )
    connect_timeout_s: float = setting(
        "PROMPTER_DB_CONNECT_TIMEOUT_S", 2.0, "Seconds to wait when opening a DB connection.", gt=0, le=600
    )
    statement_timeout_s: float = setting(
        "PROMPTER_DB_STATEMENT_TIMEOUT_S",
        5.0,
        "Per-statement timeout (PostgreSQL) so a stuck DB cannot hang requests.",
        gt=0,
        le=3600,
    )
    write_wait_s: float = setting(
        "PROMPTER_DB_WRITE_WAIT_S",
        10.0,
        "SQLite: seconds a write may wait in the in-process writer queue (one writer at a time) before answering 503.",
        gt=0,
        le=600,
    )
    # Resolved when the section is built (None never survives validation): `prompter config` shows the effective value.
    auto_migrate: bool | None = setting(
        "PROMPTER_DB_AUTO_MIGRATE", None, "Run migrations at startup. Default: on for SQLite, off for PostgreSQL."
    )

    @field_validator("url")
    @classmethod
    def _supported_url(cls, url: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
            backend = parsed.get_backend_name()
        except ArgumentError:
            parsed, backend = None, ""
        if parsed is None or backend not in {"sqlite", "postgresql", "postgres"}:
            raise ValueError("unsupported database URL")
        if backend == "sqlite":
            _check_sqlite_url(parsed)
        return url

    @model_validator(mode="after")
    def _resolve_auto_migrate(self) -> DatabaseSettings:
        if self.auto_migrate is None:
            object.__setattr__(self, "auto_migrate", self.is_sqlite)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def _check_sqlite_url(parsed: Any) -> None:
    """What SQLAlchemy would refuse only when the engine is built (a traceback), refused here as one line."""
    if parsed.host or parsed.port or parsed.username or parsed.password:
        path = "/".join(part for part in (parsed.host, parsed.database) if part)
        raise ValueError(
            f"a SQLite URL has no host: write sqlite:///{path or 'prompter.db'}, three slashes then the path"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError(
            "an in-memory SQLite database is empty for each connection and gone when the process exits: give a file, "
            "e.g. sqlite:///./prompter.db"
        )


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class AuthSettings(Section):
    mode: Literal["required", "off"] = setting(
        "PROMPTER_AUTH", "off", "`required`: every /api/* call needs a workspace API key. `off`: open (dev only)."
    )
    protected_labels: str = setting(
        "PROMPTER_PROTECTED_LABELS",
        DEFAULT_LABEL,
        "Comma-separated labels only an `admin` key may move or delete (e.g. `production,prod`).",
        allowed="comma-separated label names (a-z, 0-9, `_` `.` `-`, up to 64 characters); empty = none",
    )
    metrics_user: OptionalText = setting("METRICS_BASIC_AUTH_USER", None, "Protect /metrics (with _PASSWORD).")
    metrics_password: OptionalText = setting(
        "METRICS_BASIC_AUTH_PASSWORD", None, "Password for /metrics basic auth (with _USER).", secret=True
    )

    @field_validator("protected_labels")
    @classmethod
    def _label_names(cls, value: str) -> str:
        bad = sorted(name for name in _comma_list(value) if not LABEL_PATTERN.fullmatch(name))
        if bad:
            raise ValueError(f"{', '.join(bad)} is not a label name")
        return value

    @property
    def protected_label_set(self) -> frozenset[str]:
        return frozenset(_comma_list(self.protected_labels))

    @model_validator(mode="after")
    def _both_or_neither(self) -> AuthSettings:
        # Half a credential would leave /metrics open while the operator believes it is protected.
        if (self.metrics_user is None) != (self.metrics_password is None):
            raise ValueError(
                "METRICS_BASIC_AUTH_USER and METRICS_BASIC_AUTH_PASSWORD must be set together "
                "(one alone would leave /metrics unprotected)"
            )
        return self

    @property
    def required(self) -> bool:
        return self.mode == "required"


class LimitsSettings(Section):
    max_body_bytes: int = setting(
        "PROMPTER_MAX_BODY_BYTES", 256 * KiB, "Largest request body accepted (413).", ge=1 * KiB, le=64 * MiB
    )
    max_template_bytes: int = setting(
        "PROMPTER_MAX_TEMPLATE_BYTES", 64 * KiB, "Largest template body (UTF-8).", ge=1, le=64 * MiB
    )
    max_variables: int = setting(
        "PROMPTER_MAX_VARIABLES", 100, "Most distinct {{ variables }} in one template.", ge=1, le=10_000
    )

    max_messages: int = setting(
        "PROMPTER_MAX_MESSAGES", 100, "Most messages in one chat template (placeholders included).", ge=1, le=10_000
    )
    max_schema_bytes: int = setting(
        "PROMPTER_MAX_SCHEMA_BYTES",
        64 * KiB,
        "Largest JSON Schema (input_schema, a response_format schema, the tools), as canonical JSON (UTF-8).",
        ge=1,
        le=64 * MiB,
    )

    max_rendered_bytes: int = setting(
        "PROMPTER_MAX_RENDERED_BYTES",
        256 * KiB,
        "Largest rendered prompt (UTF-8), checked before rendering (422).",
        ge=1,
        le=64 * MiB,
    )

    shutdown_step_timeout_s: float = setting(
        "PROMPTER_SHUTDOWN_STEP_TIMEOUT_S",
        12.0,
        "Longest wait for each shutdown step (Redis, provider clients, DB pool, telemetry flush: up to two 5 s OTLP "
        "exports); a hung step is logged and abandoned.",
        gt=0,
        le=300,
    )


class ServerSettings(Section):
    """How `prompter serve` meets the proxy in front of it and how it stops (docs/security-operations.md)."""

    forwarded_allow_ips: str = setting(
        "PROMPTER_FORWARDED_ALLOW_IPS",
        "127.0.0.1",
        "Peers trusted to set X-Forwarded-For/-Proto (the client address, and https for Secure cookies). `*` = any "
        "peer: only where a network policy lets nothing but the proxy connect.",
        allowed="comma-separated IP addresses or CIDR networks, or `*`",
        min_length=1,
    )
    keep_alive_s: float = setting(
        "PROMPTER_KEEP_ALIVE_S",
        75.0,
        "Seconds an idle keep-alive connection stays open. Keep it above the balancer's idle timeout, so the "
        "balancer, not this process, closes idle connections (else a request it sends may meet a closing one: 502).",
        gt=0,
        le=3600,
    )
    shutdown_delay_s: float = setting(
        "PROMPTER_SHUTDOWN_DELAY_S",
        0.0,
        "After SIGTERM: seconds /readyz answers 503 while requests are still served (each with Connection: close), "
        "so the balancer stops sending before the listener closes.",
        ge=0,
        le=300,
    )
    shutdown_drain_s: float | None = setting(
        "PROMPTER_SHUTDOWN_DRAIN_S",
        None,
        "Then: seconds in-flight requests may still take; requests cut after it answer 503 with Retry-After. "
        "Default: PROMPTER_PROVIDER_TIMEOUT_S + 10.",
        gt=0,
        le=3600,
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        import ipaddress

        items = _comma_list(value)
        if not items:
            raise ValueError("no address given")
        for item in items:
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item} is not an IP address or network") from None
        return value


class RedisSettings(Section):
    url: OptionalText = setting("REDIS_URL", None, "Redis for the probe cache, e.g. redis://127.0.0.1:6379/0.")
    probe_ttl_s: float = setting(
        "PROMPTER_PROBE_TTL_S",
        300,
        "Seconds a probed model identity is reused from Redis (drift shows at most this late).",
        gt=0,
        le=7 * 86400,
    )
    timeout_s: float = setting(
        "PROMPTER_REDIS_TIMEOUT_S",
        0.25,
        "Connect/read timeout of one Redis call; a dead Redis costs at most this.",
        gt=0,
        le=60,
    )
    health_interval_s: float = setting(
        "PROMPTER_REDIS_HEALTH_INTERVAL_S",
        2.0,
        "Seconds between background Redis PINGs (prompter_redis_up, /readyz).",
        gt=0,
        le=3600,
    )
    probe_lock_ttl_s: float = setting(
        "PROMPTER_PROBE_LOCK_TTL_S",
        10.0,
        "Single flight: the probe lock expires after this if its holder never finishes.",
        gt=0,
        le=3600,
    )
    probe_lock_wait_s: float = setting(
        "PROMPTER_PROBE_LOCK_WAIT_S",
        5.0,
        "Single flight: longest wait for another request's probe before probing anyway.",
        ge=0,
        le=3600,
    )


class TelemetrySettings(Section):
    service: str = setting("METRICS_SERVICE", "prompter-api", "`service` label on every metric series.", min_length=1)
    env: str = setting("METRICS_ENV", "dev", "`env` label on every metric series.", min_length=1)
    mode: Literal["on", "off"] = setting("PROMPTER_TELEMETRY", "on", "`off` disables metrics and traces (benchmarks).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = setting(
        "PROMPTER_LOG_LEVEL", "INFO", "Python log level."
    )
    otel_sdk_disabled: bool = setting("OTEL_SDK_DISABLED", False, "Standard OTel switch; true = no telemetry.")
    otel_service_name: OptionalText = setting(
        "OTEL_SERVICE_NAME", None, "service.name of traces (default METRICS_SERVICE)."
    )
    otlp_endpoint: OptionalText = setting(
        "OTEL_EXPORTER_OTLP_ENDPOINT", None, "OTLP/HTTP base URL (e.g. http://collector:4318); set = export traces."
    )
    otlp_traces_endpoint: OptionalText = setting(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None, "Full OTLP/HTTP traces URL; overrides the base URL for traces."
    )
    metrics_export: Literal["prometheus", "otlp", "both"] = setting(
        "PROMPTER_METRICS_EXPORT", "prometheus", "`prometheus` (pull /metrics), `otlp` (push) or `both`."
    )
    trace_statements: bool = setting(
        "PROMPTER_TRACE_STATEMENTS",
        True,
        "One span per SQL/Redis statement (auto-instrumented). Off: request, domain and LLM spans only (cheaper).",
    )
    span_export: Literal["process", "inline"] = setting(
        "PROMPTER_SPAN_EXPORT",
        "process",
        "Where spans are encoded and sent over OTLP: `process` (a separate exporter process, less CPU in the server) "
        "or `inline` (a thread of the server).",
    )
    trace_content: bool = setting(
        "PROMPTER_TRACE_CONTENT", False, "Put prompt and output text on LLM spans (off: customer data stays out)."
    )

    metric_models: OptionalText = setting(
        "PROMPTER_METRIC_MODELS",
        None,
        "Comma-separated model ids labelled by name in metrics; all others are `other`. Unset: the first 50 ids a "
        "version was pinned to, at most 10 per workspace.",
    )
    metric_labels: str = setting(
        "PROMPTER_METRIC_LABELS",
        "production,staging",
        "Comma-separated label names labelled by name in the production-traffic metrics; every other label is "
        "`other` (at most 20).",
        allowed="comma-separated label names (a-z, 0-9, `_` `.` `-`), at most 20; empty = all `other`",
    )

    @field_validator("metric_labels")
    @classmethod
    def _metric_label_names(cls, value: str) -> str:
        from service.vocabulary import LABEL_PATTERN

        names = _comma_list(value)
        bad = sorted(name for name in names if not LABEL_PATTERN.fullmatch(name))
        if bad:
            raise ValueError(f"{', '.join(bad)} is not a label name")
        if len(set(names)) > MAX_METRIC_LABELS:
            raise ValueError(f"more than {MAX_METRIC_LABELS} label names")
        return value

    @property
    def enabled(self) -> bool:
        return self.mode == "on" and not self.otel_sdk_disabled

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

    def config(self, *, providers: frozenset[str] = frozenset()) -> TelemetryConfig:
        """What `setup_telemetry` consumes (telemetry/ does not know about Settings); built here and only here.

        `providers` is the service's provider allow-list (the `provider` label values), handed in by create_app."""
        return TelemetryConfig(
            enabled=self.enabled,
            service=self.service,
            env=self.env,
            otel_service_name=self.otel_service_name,
            otlp_traces_endpoint=self.traces_endpoint,
            otlp_metrics_endpoint=self.metrics_push_endpoint,
            prometheus=self.metrics_export in {"prometheus", "both"},
            capture_content=self.trace_content,
            statement_spans=self.trace_statements,
            span_export=self.span_export,
            providers=providers,
            metric_models=parse_model_list(self.metric_models),
            metric_labels=frozenset(_comma_list(self.metric_labels)),
        )


class ProviderSettings(Section):
    fake_identity: OptionalText = setting(
        "PROMPTER_FAKE_IDENTITY", None, "Fake LLM identity overrides, e.g. `openai=fp_new` (demonstrates drift)."
    )
    openai_api_key: OptionalText = setting(
        "OPENAI_API_KEY", None, "Set = the `openai` provider calls the real API (else the fake LLM).", secret=True
    )
    openai_base_url: str = setting(
        "OPENAI_BASE_URL",
        "https://api.openai.com/v1",
        "OpenAI or any OpenAI-compatible server (vLLM, Ollama, LiteLLM).",
        min_length=1,
    )
    anthropic_api_key: OptionalText = setting(
        "ANTHROPIC_API_KEY", None, "Set = the `anthropic` provider calls the real Messages API.", secret=True
    )
    anthropic_base_url: str = setting(
        "ANTHROPIC_BASE_URL", "https://api.anthropic.com", "Anthropic API base URL.", min_length=1
    )
    google_api_key: OptionalText = setting(
        "GOOGLE_API_KEY", None, "Set = the `google` provider calls the real Gemini API.", secret=True
    )
    gemini_api_key: OptionalText = setting(
        "GEMINI_API_KEY", None, "Alternative name for GOOGLE_API_KEY (used when that is unset).", secret=True
    )
    google_base_url: str = setting(
        "GOOGLE_BASE_URL", "https://generativelanguage.googleapis.com", "Gemini API base URL.", min_length=1
    )
    timeout_s: float = setting(
        "PROMPTER_PROVIDER_TIMEOUT_S",
        60.0,
        "Seconds one LLM HTTP attempt may take before answering 504.",
        gt=0,
        le=3600,
    )
    max_retries: int = setting(
        "PROMPTER_PROVIDER_MAX_RETRIES",
        2,
        "Retries after an LLM 429 before answering 429 provider_rate_limited.",
        ge=0,
        le=10,
    )
    max_retry_after_s: float = setting(
        "PROMPTER_PROVIDER_MAX_RETRY_AFTER_S",
        10.0,
        "Longest Retry-After waited out; a longer one gives up at once.",
        ge=0,
        le=3600,
    )

    @property
    def fake_identity_overrides(self) -> dict[str, str]:
        pairs = (item.partition("=") for item in (self.fake_identity or "").split(",") if item.strip())
        return {provider.strip(): identity.strip() for provider, _, identity in pairs if identity.strip()}

    @property
    def google_key(self) -> str | None:
        return self.google_api_key or self.gemini_api_key


class ObservationSettings(Section):
    """Ingest of observations (POST /api/observations, POST /v1/traces) and how long they are kept."""

    max_items: int = setting(
        "PROMPTER_OBSERVATIONS_MAX_ITEMS",
        500,
        "Most observations in one POST /api/observations batch, or spans in one /v1/traces export (413 above).",
        ge=1,
        le=10_000,
    )
    max_bytes: int = setting(
        "PROMPTER_OBSERVATIONS_MAX_BYTES",
        1 * MiB,
        "Largest observations batch or OTLP export, after gzip decompression (413 above).",
        ge=1 * KiB,
        le=64 * MiB,
    )
    retention_days: int = setting(
        "PROMPTER_OBSERVATIONS_RETENTION_DAYS",
        30,
        "Days observations are kept; `prompter observations prune` deletes older ones.",
        ge=1,
        le=3650,
    )


class RolloutSettings(Section):
    """Split labels' rollout policies and the worker that decides them (service/rollouts/)."""

    min_interval_s: float = setting(
        "PROMPTER_ROLLOUT_MIN_INTERVAL_S",
        10.0,
        "Shortest analysis interval a rollout policy may ask for (422 below); keeps the worker's queries cheap.",
        gt=0,
        le=86400,
    )
    tick_s: float = setting(
        "PROMPTER_ROLLOUT_TICK_S",
        1.0,
        "How often each replica's rollout worker wakes to analyse the rollouts whose interval has passed.",
        gt=0,
        le=3600,
    )


class UISettings(Section):
    trace_url: OptionalText = setting(
        "PROMPTER_TRACE_URL",
        None,
        "UI link from a result to its trace, e.g. http://localhost:16686/trace/{trace_id} (Jaeger). Unset: no link.",
        allowed="an http(s) URL containing {trace_id}; empty = unset",
    )
    secret: OptionalText = setting(
        "PROMPTER_UI_SECRET",
        None,
        "Extra key mixed into the UI's form tokens; set it on every replica alike. Unset: tokens derive from the "
        "session alone.",
        secret=True,
    )
    session_ttl_s: float = setting(
        "PROMPTER_UI_SESSION_TTL_S",
        8 * 3600,
        "Seconds a UI login lasts (sessions are kept in the database; logout or revoking the key ends them sooner).",
        gt=0,
        le=30 * 86400,
    )
    login_max_failures: int = setting(
        "PROMPTER_UI_LOGIN_MAX_FAILURES",
        10,
        "Failed UI logins allowed per client address, and per key id, within PROMPTER_UI_LOGIN_WINDOW_S; then 429.",
        ge=1,
        le=10_000,
    )
    login_window_s: float = setting(
        "PROMPTER_UI_LOGIN_WINDOW_S",
        60.0,
        "The window of PROMPTER_UI_LOGIN_MAX_FAILURES, in seconds (counted per replica).",
        gt=0,
        le=86400,
    )

    @field_validator("trace_url")
    @classmethod
    def _trace_link(cls, url: str | None) -> str | None:
        if url is not None and ("{trace_id}" not in url or not url.startswith(("http://", "https://"))):
            raise ValueError("not an http(s) URL containing {trace_id}")
        return url


class WebhookSettings(Section):
    """Deliveries of workspace events to webhook endpoints (service/webhooks/)."""

    allowed_hosts: str = setting(
        "PROMPTER_WEBHOOK_ALLOWED_HOSTS",
        "",
        "Hosts or CIDRs webhook URLs may reach although they are loopback, private, link-local or cloud-metadata "
        "addresses (refused otherwise), e.g. `hooks.internal,10.1.0.0/16`.",
        allowed="comma-separated host names, IP addresses or CIDRs; empty = none",
    )
    timeout_s: float = setting(
        "PROMPTER_WEBHOOK_TIMEOUT_S",
        10.0,
        "Seconds one delivery request may take (connect to last byte).",
        gt=0,
        le=300,
    )
    max_concurrency: int = setting(
        "PROMPTER_WEBHOOK_MAX_CONCURRENCY", 16, "Deliveries in flight at once, per replica.", ge=1, le=1000
    )
    poll_s: float = setting(
        "PROMPTER_WEBHOOK_POLL_S",
        1.0,
        "Seconds between the delivery worker's looks for due deliveries when it has nothing to do.",
        gt=0,
        le=300,
    )
    retry_base_s: float = setting(
        "PROMPTER_WEBHOOK_RETRY_BASE_S",
        5.0,
        "Wait before the first retry of a failed delivery; each further retry waits twice as long (with jitter).",
        gt=0,
        le=3600,
    )
    retry_max_s: float = setting(
        "PROMPTER_WEBHOOK_RETRY_MAX_S", 3600.0, "Longest wait between two attempts of one delivery.", gt=0, le=86400
    )
    retry_window_s: float = setting(
        "PROMPTER_WEBHOOK_RETRY_WINDOW_S",
        86400.0,
        "How long a delivery is retried before it is given up (status `failed`).",
        gt=0,
        le=7 * 86400,
    )
    disable_after_s: float = setting(
        "PROMPTER_WEBHOOK_DISABLE_AFTER_S",
        86400.0,
        "An endpoint whose deliveries have failed for this long without a success is disabled "
        "(event webhook_endpoint.disabled).",
        gt=0,
        le=30 * 86400,
    )
    retention_s: float = setting(
        "PROMPTER_WEBHOOK_RETENTION_S",
        30 * 86400.0,
        "How long an event and its delivery log are kept once no delivery of it is pending; the delivery worker "
        "removes older ones.",
        gt=0,
        le=3650 * 86400,
    )
    worker: Literal["on", "off"] = setting(
        "PROMPTER_WEBHOOK_WORKER",
        "on",
        "`on`: this replica delivers webhooks (replicas share the work). `off`: it only writes events.",
    )

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_or_cidrs(cls, value: str) -> str:
        import ipaddress

        for item in _comma_list(value):
            if "/" in item:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not a CIDR") from None
            elif not all(part and len(part) <= 63 for part in item.rstrip(".").split(".")) or " " in item:
                raise ValueError(f"{item!r} is not a host name or address")
        return value

    @property
    def allowed_host_list(self) -> list[str]:
        return _comma_list(self.allowed_hosts)


class McpSettings(Section):
    mode: Literal["on", "off"] = setting(
        "PROMPTER_MCP",
        "on",
        "`on`: serve the workspace's prompts over the Model Context Protocol at /mcp (same API keys). `off`: no /mcp.",
    )
    session_idle_s: float = setting(
        "PROMPTER_MCP_SESSION_IDLE_S",
        1800.0,
        "Seconds an MCP session may stay without any request or open stream before it is closed (the client then "
        "starts a new one).",
        gt=0,
        le=7 * 86400,
    )
    max_sessions: int = setting(
        "PROMPTER_MCP_MAX_SESSIONS",
        1000,
        "Open MCP sessions per process; a new session beyond it is refused with 503 until one ends.",
        ge=1,
        le=100_000,
    )

    @property
    def enabled(self) -> bool:
        return self.mode == "on"


SECTIONS: dict[str, type[Section]] = {
    "db": DatabaseSettings,
    "auth": AuthSettings,
    "limits": LimitsSettings,
    "server": ServerSettings,
    "redis": RedisSettings,
    "telemetry": TelemetrySettings,
    "providers": ProviderSettings,
    "observations": ObservationSettings,
    "rollouts": RolloutSettings,
    "ui": UISettings,
    "webhooks": WebhookSettings,
    "mcp": McpSettings,
}


def env_name(info: FieldInfo) -> str:
    return str(info.json_schema_extra["env"])  # type: ignore[index]


def fields_in_order() -> list[tuple[str, str, FieldInfo]]:
    """(section, attribute, field) for every setting, in README order."""
    return [(name, attr, info) for name, section in SECTIONS.items() for attr, info in section.model_fields.items()]
