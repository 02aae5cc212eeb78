import pytest

from service.db.engine import async_url
from service.settings import Settings


def test_defaults_need_no_environment():
    settings = Settings.from_env({})
    assert settings.db_url.startswith("sqlite:///")
    assert settings.metrics_service == "prompter-api" and settings.metrics_env == "dev"
    assert settings.auto_migrate is True and settings.telemetry_enabled is True


def test_values_are_parsed_by_type():
    settings = Settings.from_env(
        {
            "DB_URL": "postgresql://u@h/db",
            "PROMPTER_MAX_BODY_BYTES": "1024",
            "OTEL_SDK_DISABLED": "true",
            "PROMPTER_DB_POOL_TIMEOUT_S": "0.5",
        }
    )
    assert settings.max_body_bytes == 1024 and settings.db_pool_timeout_s == 0.5
    assert settings.telemetry_enabled is False
    assert settings.auto_migrate is False  # PostgreSQL is migrated explicitly with `prompter migrate`


def test_bad_values_name_the_variable():
    with pytest.raises(ValueError, match="PROMPTER_MAX_BODY_BYTES"):
        Settings.from_env({"PROMPTER_MAX_BODY_BYTES": "lots"})


def test_design_note_urls_are_translated_to_async_drivers():
    assert async_url("sqlite:///./dev.db") == "sqlite+aiosqlite:///./dev.db"
    assert async_url("postgresql://u:p@h:5432/db") == "postgresql+asyncpg://u:p@h:5432/db"
    with pytest.raises(ValueError, match="not supported"):
        async_url("mysql://u@h/db")


def test_every_credential_setting_is_marked_secret():
    # `secret=True` keeps a value out of repr(Settings) and masks it in `prompter config`; a new key or password
    # setting that forgets it fails here.
    from dataclasses import fields

    for field in fields(Settings):
        env = field.metadata["env"]
        if any(word in env for word in ("PASSWORD", "API_KEY", "SECRET", "TOKEN")):
            assert field.metadata["secret"], env
            assert field.repr is False, env


def test_protected_labels_are_parsed_and_checked_at_startup():
    assert Settings.from_env({}).protected_label_set == {"production"}
    parsed = Settings.from_env({"PROMPTER_PROTECTED_LABELS": " production, prod ,,"})
    assert parsed.protected_label_set == {"production", "prod"}
    assert Settings.from_env({"PROMPTER_PROTECTED_LABELS": ","}).protected_label_set == frozenset()
    with pytest.raises(ValueError, match="PROMPTER_PROTECTED_LABELS='production,Prod X'"):
        Settings.from_env({"PROMPTER_PROTECTED_LABELS": "production,Prod X"})
