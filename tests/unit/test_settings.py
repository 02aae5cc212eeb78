import pytest

from service.db.engine import async_url
from service.settings import Settings, SettingsError
from service.settings.sections import fields_in_order


def test_defaults_need_no_environment():
    settings = Settings.from_env({})
    assert settings.db.url.startswith("sqlite:///")
    assert settings.telemetry.service == "prompter-api" and settings.telemetry.env == "dev"
    assert settings.db.auto_migrate is True and settings.telemetry.enabled is True
    assert settings.auth.required is False


def test_values_are_parsed_by_type():
    settings = Settings.from_env(
        {
            "DB_URL": "postgresql://u@h/db",
            "PROMPTER_MAX_BODY_BYTES": "1024",
            "OTEL_SDK_DISABLED": "true",
            "PROMPTER_DB_POOL_TIMEOUT_S": "0.5",
            "PROMPTER_AUTH": "required",
        }
    )
    assert settings.limits.max_body_bytes == 1024 and settings.db.pool_timeout_s == 0.5
    assert settings.telemetry.enabled is False and settings.auth.required is True
    assert settings.db.auto_migrate is False  # PostgreSQL is migrated explicitly with `prompter migrate`


def test_constructor_keywords_are_the_variable_names():
    settings = Settings(db_url="postgresql://u@h/db", auth="required", telemetry="off", redis_url="redis://r")
    assert (settings.db.url, settings.auth.mode, settings.telemetry.mode) == ("postgresql://u@h/db", "required", "off")
    assert settings.redis.url == "redis://r"
    with pytest.raises(ValueError, match="bogus"):
        Settings(bogus=1)


@pytest.mark.parametrize(
    ("env", "raw", "allowed"),
    [
        # Each of these used to start the service in a weaker mode than asked for (auth off, telemetry on, no metrics).
        ("PROMPTER_AUTH", "true", "`required` / `off`"),
        ("PROMPTER_AUTH", "on", "`required` / `off`"),
        ("PROMPTER_AUTH", "require", "`required` / `off`"),
        ("PROMPTER_AUTH", " required", "`required` / `off`"),
        ("PROMPTER_AUTH", "Required", "`required` / `off`"),
        ("PROMPTER_AUTH", "", "`required` / `off`"),
        ("PROMPTER_TELEMETRY", "no", "`on` / `off`"),
        ("PROMPTER_TELEMETRY", "OFF", "`on` / `off`"),
        ("PROMPTER_METRICS_EXPORT", "Prometheus", "`prometheus` / `otlp` / `both`"),
        ("PROMPTER_LOG_LEVEL", "verbose", "`DEBUG` / `INFO`"),
        ("PROMPTER_TRACE_CONTENT", "maybe", "`true` / `false`"),
        ("PROMPTER_DB_AUTO_MIGRATE", "", "`true` / `false`"),
        ("OTEL_SDK_DISABLED", " true", "`true` / `false`"),
        ("PROMPTER_MAX_BODY_BYTES", "lots", "an integer from 1024 to"),
        ("PROMPTER_DB_POOL_SIZE", "0", "an integer from 1 to 1000"),
        ("PROMPTER_PROVIDER_MAX_RETRIES", "-1", "an integer from 0 to 10"),
        ("PROMPTER_REDIS_TIMEOUT_S", "nan", "a number above 0"),
        ("PROMPTER_DB_STATEMENT_TIMEOUT_S", "0", "a number above 0"),
        ("DB_URL", "mysql://x", "sqlite:///PATH or postgresql://"),
        ("DB_URL", "", "sqlite:///PATH or postgresql://"),
        ("METRICS_SERVICE", "", "non-empty text"),
    ],
)
def test_an_unknown_value_is_refused_in_one_line_naming_variable_value_and_allowed(env: str, raw: str, allowed: str):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({env: raw})
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"{env}={raw!r} is refused; allowed: ")
    assert allowed in message


def test_every_bad_variable_is_named_at_once():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"PROMPTER_AUTH": "yes", "PROMPTER_METRICS_EXPORT": "OTLP"})
    assert "PROMPTER_AUTH='yes'" in str(refused.value) and "PROMPTER_METRICS_EXPORT='OTLP'" in str(refused.value)


def test_a_refused_url_does_not_echo_its_password():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"DB_URL": "mysql://app:hunter2@db/prompter"})
    assert "hunter2" not in str(refused.value) and "mysql://app:***@db/prompter" in str(refused.value)


def test_half_a_metrics_credential_is_refused():
    # Only the user set would have left /metrics open while the operator believes it is protected.
    with pytest.raises(SettingsError, match="METRICS_BASIC_AUTH_USER and METRICS_BASIC_AUTH_PASSWORD"):
        Settings.from_env({"METRICS_BASIC_AUTH_USER": "scraper"})


def test_empty_optional_text_means_unset():
    settings = Settings.from_env({"REDIS_URL": "", "OPENAI_API_KEY": "", "OTEL_EXPORTER_OTLP_ENDPOINT": ""})
    assert settings.redis.url is None and settings.providers.openai_api_key is None
    assert settings.telemetry.otlp_endpoint is None


def test_booleans_accept_the_usual_spellings():
    for raw, expected in [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("off", False), ("0", False)]:
        assert Settings.from_env({"PROMPTER_DB_AUTO_MIGRATE": raw}).db.auto_migrate is expected


def test_auto_migrate_is_resolved_to_its_effective_value():
    assert Settings(db_url="sqlite:///x.db").db.auto_migrate is True
    assert Settings(db_url="postgresql://u@h/db").db.auto_migrate is False
    assert Settings(db_url="postgresql://u@h/db", db_auto_migrate=True).db.auto_migrate is True


def test_telemetry_section_builds_the_telemetry_config():
    config = Settings(otel_exporter_otlp_endpoint="http://c:4318/", metrics_export="both").telemetry.config()
    assert config.otlp_traces_endpoint == "http://c:4318/v1/traces"
    assert config.otlp_metrics_endpoint == "http://c:4318/v1/metrics" and config.prometheus is True


def test_design_note_urls_are_translated_to_async_drivers():
    assert async_url("sqlite:///./dev.db") == "sqlite+aiosqlite:///./dev.db"
    assert async_url("postgresql://u:p@h:5432/db") == "postgresql+asyncpg://u:p@h:5432/db"
    with pytest.raises(ValueError, match="not supported"):
        async_url("mysql://u@h/db")


def test_every_credential_setting_is_marked_secret():
    # `secret=True` keeps a value out of repr(Settings) and masks it in `prompter config`; a new key or password
    # setting that forgets it fails here.
    for _, _, info in fields_in_order():
        env = info.json_schema_extra["env"]
        if any(word in env for word in ("PASSWORD", "API_KEY", "SECRET", "TOKEN")):
            assert info.json_schema_extra["secret"], env
            assert info.repr is False, env


def test_protected_labels_are_parsed_and_checked_at_startup():
    assert Settings.from_env({}).auth.protected_label_set == {"production"}
    parsed = Settings.from_env({"PROMPTER_PROTECTED_LABELS": " production, prod ,,"})
    assert parsed.auth.protected_label_set == {"production", "prod"}
    assert Settings.from_env({"PROMPTER_PROTECTED_LABELS": ","}).auth.protected_label_set == frozenset()
    with pytest.raises(ValueError, match="PROMPTER_PROTECTED_LABELS='production,Prod X'"):
        Settings.from_env({"PROMPTER_PROTECTED_LABELS": "production,Prod X"})
