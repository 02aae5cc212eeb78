"""Every adapter maps every provider failure to a ProviderError child (never a bare exception, so never a 500), retries
429 within bounds honouring Retry-After, and never lets the key into what it raises or logs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from service.http.errors import ProviderAuth, ProviderError, ProviderRateLimited, ProviderTimeout, status_of
from service.providers.base import CompletionRequest, GenerationParams
from service.providers.http import HTTPPolicy
from tests.integration.providers.observed import LogCollector
from tests.integration.providers.wire_server import (
    SECRET,
    Reply,
    anthropic_error,
    anthropic_message,
    gemini_response,
    google_error,
    openai_chat,
    openai_error,
)
from tests.support.ports import free_port

PROVIDERS = ["openai", "anthropic", "google"]
MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-0", "google": "gemini-2.0-flash"}
OK = {"openai": openai_chat, "anthropic": anthropic_message, "google": gemini_response}
ERROR = {"openai": openai_error, "anthropic": anthropic_error, "google": google_error}


@pytest.fixture(autouse=True)
def logs() -> Iterator[LogCollector]:
    collector = LogCollector().install()
    try:
        yield collector
        assert SECRET not in collector.text
    finally:
        collector.uninstall()


def request(provider: str) -> CompletionRequest:
    return CompletionRequest(MODELS[provider], "hi", GenerationParams())


def assert_no_secret(exc: BaseException) -> None:
    assert SECRET not in str(exc) and SECRET not in repr(exc.args)
    assert SECRET not in str(getattr(exc, "headers", ""))
    assert exc.__cause__ is None  # the httpx chain is cut: nothing of the transport reaches a recorded span


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_are_provider_auth_without_the_providers_text(wire, make_adapter, provider, status):
    # OpenAI's real 401 echoes part of the key: the message must not be repeated.
    wire.script(Reply(status, ERROR[provider](f"Incorrect API key provided: {SECRET}. You can find your key ...")))
    with pytest.raises(ProviderAuth) as caught:
        await make_adapter(provider).complete(request(provider))
    assert (status_of(caught.value), caught.value.code) == (502, "provider_auth")
    assert "Incorrect API key" not in caught.value.detail and f"HTTP {status}" in caught.value.detail
    assert_no_secret(caught.value)
    assert len(wire.requests) == 1  # auth failures are not retried


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [500, 503, 529])
async def test_server_errors_are_provider_error(wire, make_adapter, provider, status):
    wire.script(Reply(status, ERROR[provider]("The server had an error while processing your request.")))
    with pytest.raises(ProviderError) as caught:
        await make_adapter(provider).probe(MODELS[provider], GenerationParams())
    assert type(caught.value) is ProviderError
    assert (status_of(caught.value), caught.value.code) == (502, "provider_error")
    assert f"HTTP {status}" in caught.value.detail and "server had an error" in caught.value.detail
    assert_no_secret(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_rejected_request_repeats_the_providers_message_scrubbed_of_the_key(wire, make_adapter, provider):
    wire.script(Reply(404, ERROR[provider](f"The model `nope` does not exist (key {SECRET})")))
    with pytest.raises(ProviderError) as caught:
        await make_adapter(provider).complete(request(provider))
    assert caught.value.code == "provider_error" and "HTTP 404" in caught.value.detail
    assert "does not exist (key ***)" in caught.value.detail
    assert_no_secret(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "body", [b"<html>502 Bad Gateway</html>", b'{"truncated": ', b"[1, 2]", b"", b'{"unexpected": "shape"}']
)
async def test_a_malformed_body_is_provider_error(wire, make_adapter, provider, body):
    wire.script(Reply(200, body))
    with pytest.raises(ProviderError) as caught:
        await make_adapter(provider).complete(request(provider))
    assert type(caught.value) is ProviderError and status_of(caught.value) == 502
    assert "malformed" in caught.value.detail
    assert_no_secret(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_slow_provider_is_provider_timeout(wire, make_adapter, provider):
    wire.script(Reply(200, OK[provider](), delay_s=2.0))
    short = HTTPPolicy(timeout_s=0.5, max_retries=2, max_retry_after_s=2.0)
    with pytest.raises(ProviderTimeout) as caught:
        await make_adapter(provider, policy=short).complete(request(provider))
    assert (status_of(caught.value), caught.value.code) == (504, "provider_timeout")
    assert "0.5 s" in caught.value.detail and "PROMPTER_PROVIDER_TIMEOUT_S" in caught.value.detail
    assert_no_secret(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_refused_connection_is_provider_error(make_adapter, provider):
    adapter = make_adapter(provider, url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderError) as caught:
        await adapter.complete(request(provider))
    assert type(caught.value) is ProviderError and status_of(caught.value) == 502
    assert "Could not reach" in caught.value.detail and "ConnectError" in caught.value.detail
    assert_no_secret(caught.value)


@pytest.mark.parametrize("drop", ["before_response", "after_headers", "mid_body"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_dropped_connection_is_reported_as_dropped_not_unreachable(wire, make_adapter, provider, drop):
    """The provider accepted the connection and then closed it: it was reached, so "Could not reach" would send the
    operator to check a base URL that is fine."""
    wire.script(Reply(200, OK[provider]("never delivered " * 50), drop=drop))
    with pytest.raises(ProviderError) as caught:
        await make_adapter(provider).complete(request(provider))
    assert type(caught.value) is ProviderError and status_of(caught.value) == 502
    detail = caught.value.detail
    assert "dropped the connection" in detail and "Could not reach" not in detail, detail
    assert "127.0.0.1" in detail
    assert len(wire.requests) == 1  # not retried: a POST that may have been processed is not sent twice
    assert_no_secret(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_with_retry_after_is_retried_after_the_wait(wire, make_adapter, provider):
    limited = Reply(429, ERROR[provider]("Rate limit reached"), headers={"Retry-After": "1"})
    wire.script(limited, Reply(200, OK[provider]("after the wait")))
    started = time.monotonic()
    completion = await make_adapter(provider).complete(request(provider))
    assert completion.text == "after the wait"
    assert len(wire.requests) == 2
    assert wire.requests[0].body == wire.requests[1].body
    assert time.monotonic() - started >= 0.9  # the Retry-After was honoured (a lower bound, not a performance claim)


async def test_openai_retry_after_ms_is_honoured(wire, make_adapter):
    wire.script(
        Reply(429, openai_error("slow down"), headers={"retry-after-ms": "50", "retry-after": "30"}),
        Reply(200, openai_chat("ok")),
    )
    completion = await make_adapter("openai").complete(request("openai"))
    assert completion.text == "ok" and len(wire.requests) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_forever_gives_up_after_the_retries_with_retry_after(wire, make_adapter, provider):
    wire.script(default=Reply(429, ERROR[provider]("Rate limit reached"), headers={"Retry-After": "0"}))
    with pytest.raises(ProviderRateLimited) as caught:
        await make_adapter(provider).complete(request(provider))
    assert (status_of(caught.value), caught.value.code) == (429, "provider_rate_limited")
    assert caught.value.headers["Retry-After"] == "1"  # at least 1 s is always advertised
    assert len(wire.requests) == 3  # the first attempt + max_retries=2
    assert_no_secret(caught.value)


async def test_429_without_retry_after_backs_off_and_reports_a_wait(wire, make_adapter):
    wire.script(default=Reply(429, openai_error("Rate limit reached")))
    adapter = make_adapter("openai", policy=HTTPPolicy(timeout_s=0.5, max_retries=1, max_retry_after_s=0.1))
    with pytest.raises(ProviderRateLimited) as caught:
        await adapter.complete(request("openai"))
    assert len(wire.requests) == 2 and caught.value.headers["Retry-After"] == "1"


async def test_a_retry_after_beyond_the_cap_gives_up_at_once_and_passes_it_on(wire, make_adapter):
    wire.script(default=Reply(429, anthropic_error("Overloaded", "rate_limit_error"), headers={"Retry-After": "30"}))
    with pytest.raises(ProviderRateLimited) as caught:
        await make_adapter("anthropic").complete(request("anthropic"))
    assert len(wire.requests) == 1  # 30 s > PROMPTER_PROVIDER_MAX_RETRY_AFTER_S (2 s here): no point waiting less
    assert caught.value.headers["Retry-After"] == "30"


async def test_an_http_date_retry_after_is_understood(wire, make_adapter):
    wire.script(
        default=Reply(
            429,
            google_error("Quota exceeded", 429, "RESOURCE_EXHAUSTED"),
            headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"},
        )
    )
    with pytest.raises(ProviderRateLimited) as caught:
        await make_adapter("google").complete(request("google"))
    assert len(wire.requests) == 1 and int(caught.value.headers["Retry-After"]) > 10**8


async def test_zero_retries_means_one_attempt(wire, make_adapter):
    wire.script(default=Reply(429, openai_error("Rate limit reached"), headers={"Retry-After": "0"}))
    adapter = make_adapter("openai", policy=HTTPPolicy(timeout_s=0.5, max_retries=0, max_retry_after_s=1))
    with pytest.raises(ProviderRateLimited):
        await adapter.complete(request("openai"))
    assert len(wire.requests) == 1
