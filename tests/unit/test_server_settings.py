"""The server section: proxy trust, keep-alive, the stop sequence; refused values stop startup with one line."""

from __future__ import annotations

import pytest

from service.cli.serve import uvicorn_options
from service.settings import Settings, SettingsError


def test_the_drain_defaults_to_the_provider_timeout_plus_a_margin():
    assert Settings().server.shutdown_drain_s == Settings().providers.timeout_s + 10 == 70
    assert Settings.from_env({"PROMPTER_PROVIDER_TIMEOUT_S": "120"}).server.shutdown_drain_s == 130
    assert Settings.from_env({"PROMPTER_SHUTDOWN_DRAIN_S": "15"}).server.shutdown_drain_s == 15


def test_uvicorn_gets_proxy_trust_keep_alive_and_drain_from_settings():
    settings = Settings.from_env(
        {"PROMPTER_FORWARDED_ALLOW_IPS": "10.0.0.0/8, 192.168.1.7", "PROMPTER_KEEP_ALIVE_S": "90"}
    )
    options = uvicorn_options(settings)
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == "10.0.0.0/8, 192.168.1.7"
    assert options["timeout_keep_alive"] == 90 and options["timeout_graceful_shutdown"] == 70


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("PROMPTER_FORWARDED_ALLOW_IPS", "ingress"),
        ("PROMPTER_FORWARDED_ALLOW_IPS", ""),
        ("PROMPTER_SHUTDOWN_DRAIN_S", "0"),
        ("PROMPTER_SHUTDOWN_DELAY_S", "-1"),
        ("PROMPTER_UI_LOGIN_MAX_FAILURES", "0"),
        ("PROMPTER_UI_SESSION_TTL_S", "forever"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_the_variable(env, value):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({env: value})
    message = str(refused.value)
    assert env in message and "\n" not in message
