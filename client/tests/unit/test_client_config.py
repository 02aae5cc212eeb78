"""Arguments, then PROMPTER_* variables, then defaults; a bad value fails at construction naming what is wrong."""

from __future__ import annotations

import pytest
from prompter_client import Prompter


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTER_BASE_URL", "http://prompter.internal:8000/")
    monkeypatch.setenv("PROMPTER_API_KEY", "pk_abc_def")
    monkeypatch.setenv("PROMPTER_CACHE_TTL_S", "5")
    monkeypatch.setenv("PROMPTER_ORG_ID", "acme")
    with Prompter() as p:
        config = p._core.config
        assert (config.base_url, config.api_key, config.cache_ttl_s, config.org_id) == (
            "http://prompter.internal:8000",
            "pk_abc_def",
            5.0,
            "acme",
        )
        assert p._http.headers["authorization"] == "Bearer pk_abc_def"
    with Prompter("http://other:1", api_key="explicit", cache_ttl_s=0) as p:
        assert (p._core.config.base_url, p._core.config.api_key, p._core.ttl) == ("http://other:1", "explicit", 0)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROMPTER_BASE_URL", "PROMPTER_API_KEY", "PROMPTER_CACHE_TTL_S", "PROMPTER_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)
    with Prompter() as p:
        config = p._core.config
        assert (config.base_url, config.api_key, config.cache_ttl_s, config.timeout_s) == (
            "http://localhost:8000",
            None,
            60.0,
            5.0,
        )
        assert "authorization" not in p._http.headers


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("PROMPTER_CACHE_TTL_S", "soon", "PROMPTER_CACHE_TTL_S='soon' is not a number of seconds"),
        ("PROMPTER_CACHE_TTL_S", "-1", "PROMPTER_CACHE_TTL_S='-1' is out of range; allowed: a number >= 0"),
        ("PROMPTER_CACHE_TTL_S", "nan", "out of range"),
        ("PROMPTER_TIMEOUT_S", "0", "PROMPTER_TIMEOUT_S='0' is out of range; allowed: a number > 0"),
        ("PROMPTER_BASE_URL", "localhost:8000", "base_url='localhost:8000' is not an http(s) URL"),
    ],
)
def test_bad_values_fail_clearly(monkeypatch: pytest.MonkeyPatch, env: str, value: str, message: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Prompter()


def test_bad_arguments_fail_clearly() -> None:
    with pytest.raises(ValueError, match="cache_ttl_s=-3"):
        Prompter(cache_ttl_s=-3)
    with pytest.raises(ValueError, match="0 < min <= max"):
        Prompter(retry_min_s=5, retry_max_s=1)
