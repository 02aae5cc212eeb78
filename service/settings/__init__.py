"""The one Settings object, in typed and validated sections. The environment is read here and nowhere else.

`Settings.from_env()` builds it once at startup and `create_app(settings)` receives it; code reads sections
(`settings.db.url`, `settings.auth.required`, `settings.telemetry.config()`). Every field carries its environment
variable, default, one-line doc and allowed values; the README's configuration table is generated from them.

Fail closed: a value that is not exactly one of the allowed ones (`PROMPTER_AUTH=true`, `" required"`, an empty string,
`PROMPTER_METRICS_EXPORT=Prometheus`) refuses to start with one line naming the variable, the value and what is allowed.
Enumerated values are matched exactly as documented, never case-insensitively: a near miss must not quietly select a
weaker mode (before this, anything but `required` turned auth off and `Prometheus` turned metrics off).

Tests build their own `Settings(...)` with one keyword per variable - its name in lower case without the `PROMPTER_`
prefix (`Settings(db_url=..., auth="required", max_body_bytes=1024)`) - and never patch `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from service.settings.errors import SettingsError, describe_allowed, one_line
from service.settings.sections import (
    DEFAULT_DB_URL,
    SECTIONS,
    AuthSettings,
    DatabaseSettings,
    LimitsSettings,
    McpSettings,
    ObservationSettings,
    ProviderSettings,
    RedisSettings,
    RolloutSettings,
    ServerSettings,
    TelemetrySettings,
    UISettings,
    WebhookSettings,
    env_name,
    fields_in_order,
)

__all__ = [
    "DEFAULT_DB_URL",
    "AuthSettings",
    "DatabaseSettings",
    "LimitsSettings",
    "McpSettings",
    "ObservationSettings",
    "ProviderSettings",
    "RedisSettings",
    "RolloutSettings",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "TelemetrySettings",
    "UISettings",
    "WebhookSettings",
    "config_table_markdown",
]


def keyword(env: str) -> str:
    """The constructor keyword of a variable: `PROMPTER_DB_POOL_SIZE` -> `db_pool_size`, `DB_URL` -> `db_url`."""
    return env.lower().removeprefix("prompter_")


# keyword -> (section, attribute); "auth" and "telemetry" are both a section and a variable's keyword (see _route).
_BY_KEYWORD = {keyword(env_name(info)): (section, attr) for section, attr, info in fields_in_order()}
# The short keywords the OTLP endpoints had before the sections; many tests still say otlp_endpoint=.
_BY_KEYWORD |= {
    "otlp_endpoint": ("telemetry", "otlp_endpoint"),
    "otlp_traces_endpoint": ("telemetry", "otlp_traces_endpoint"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    observations: ObservationSettings = Field(default_factory=ObservationSettings)
    rollouts: RolloutSettings = Field(default_factory=RolloutSettings)
    ui: UISettings = Field(default_factory=UISettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    mcp: McpSettings = Field(default_factory=McpSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Constructing Settings(...) never reads the process environment (tests stay independent of the shell that
        # runs them); from_env() is the one place that does.
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _route(cls, data: Any) -> Any:
        """Sort flat keywords (`db_url=...`) into their sections; section objects or dicts pass through."""
        if not isinstance(data, dict):
            return data
        routed: dict[str, Any] = {}
        for key, value in data.items():
            if key in SECTIONS and isinstance(value, BaseModel | dict):
                routed.setdefault(key, {}).update(value if isinstance(value, dict) else value.model_dump())
            elif key in _BY_KEYWORD:
                section, attr = _BY_KEYWORD[key]
                routed.setdefault(section, {})[attr] = value
            else:
                routed[key] = value  # refused by extra="forbid", named in the error
        return routed

    @model_validator(mode="after")
    def _drain_covers_a_provider_call(self) -> Settings:
        # Resolved here (it needs two sections) so `prompter config` shows the effective value: a run may wait the
        # whole provider timeout, and a drain shorter than that would cut it.
        if self.server.shutdown_drain_s is None:
            object.__setattr__(self.server, "shutdown_drain_s", self.providers.timeout_s + 10.0)
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every documented variable from `environ` (default os.environ); raise SettingsError on any bad one."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for _, _, info in fields_in_order():
            if (raw := environ.get(env_name(info))) is not None:
                values[keyword(env_name(info))] = raw
        values.update(overrides)
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError(one_line(exc, _env_of)) from None

    @classmethod
    def documented_fields(cls) -> list[tuple[str, Any, str]]:
        """(env name, default, doc) for every setting: the README's configuration table is checked against this."""
        return [(env_name(info), info.default, info.description or "") for _, _, info in fields_in_order()]

    def values(self) -> list[tuple[str, Any, bool]]:
        """(env name, parsed value, secret) for every setting, as `prompter config` shows them."""
        return [
            (env_name(info), getattr(getattr(self, section), attr), bool(info.json_schema_extra["secret"]))  # type: ignore[index]
            for section, attr, info in fields_in_order()
        ]


def _env_of(loc: tuple[Any, ...]) -> tuple[str | None, FieldInfo | None]:
    """The variable and field behind a pydantic error location such as ("db", "pool_size")."""
    if len(loc) >= 2 and loc[0] in SECTIONS and loc[1] in SECTIONS[loc[0]].model_fields:
        info = SECTIONS[loc[0]].model_fields[loc[1]]
        return env_name(info), info
    return None, None


def config_table_markdown() -> str:
    """The README's configuration table, generated from the fields (a test keeps the README equal to this)."""
    lines = ["| Variable | Default | Allowed | Meaning |", "|---|---|---|---|"]
    for _, _, info in fields_in_order():
        default = info.default
        shown = "–" if default is None else f"`{str(default).lower() if isinstance(default, bool) else default}`"
        allowed = describe_allowed(info).replace("|", "/")
        lines.append(f"| `{env_name(info)}` | {shown} | {allowed} | {(info.description or '').replace('|', '/')} |")
    return "\n".join(lines)
