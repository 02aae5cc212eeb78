"""The whole service with real adapters pointed at the local wire server: what a run stores, how failures answer
(never a 500), what they leave behind (no version for a failed probe, no result for a failed run), and that the key
appears in no response, log, span or metric."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.integration.providers.observed import VARIABLES, LogCollector, ObservedApp
from tests.integration.providers.wire_server import (
    SECRET,
    Reply,
    WireServer,
    anthropic_error,
    anthropic_message,
    gemini_response,
    google_error,
    openai_chat,
    openai_error,
)

SETTINGS = {
    "openai": lambda wire: {"openai_api_key": SECRET, "openai_base_url": f"{wire.url}/v1"},
    "anthropic": lambda wire: {"anthropic_api_key": SECRET, "anthropic_base_url": wire.url},
    # GEMINI_API_KEY is accepted when GOOGLE_API_KEY is unset.
    "google": lambda wire: {"gemini_api_key": SECRET, "google_base_url": wire.url},
}
MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-0", "google": "gemini-2.0-flash"}
OK = {"openai": openai_chat, "anthropic": anthropic_message, "google": gemini_response}
ERROR = {"openai": openai_error, "anthropic": anthropic_error, "google": google_error}


@pytest.fixture
def observe(make_client: Callable[..., Any], wire: WireServer) -> Iterator[Callable[..., ObservedApp]]:
    """observe(provider, **settings) -> the app with that provider's real adapter aimed at the wire server."""
    logs = LogCollector().install()
    apps: list[ObservedApp] = []

    def build(provider: str, **overrides: Any) -> ObservedApp:
        exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        # log_level DEBUG: create_app sets the `prompter` level from it, and a leak at any level must be seen.
        settings = {"provider_timeout_s": 5.0, "log_level": "DEBUG", **SETTINGS[provider](wire), **overrides}
        client = make_client(app_kwargs={"tracer_provider": tracer_provider}, **settings)
        app = ObservedApp(client, exporter, logs)
        apps.append(app)
        return app

    try:
        yield build
        for app in apps:
            app.assert_secret_nowhere()
    finally:
        logs.uninstall()


def run_body(provider: str) -> dict[str, Any]:
    return {"provider": provider, "model_id": MODELS[provider], "variables": VARIABLES}


def test_a_run_stores_the_compatible_servers_system_fingerprint(observe, wire):
    wire.script(
        Reply(
            200,
            openai_chat(
                "Hi Ada, greetings from the wire.",
                fingerprint="fp_wire_7c1a2b",
                model="gpt-4o-2024-08-06",
                prompt_tokens=11,
                completion_tokens=8,
            ),
        ),
    )
    app = observe("openai")
    tid = app.template()

    run = app.post(f"/api/prompt-templates/{tid}/run", run_body("openai"))

    assert run.status_code == 201, run.text
    result = run.json()
    assert result["system_fingerprint"] == "fp_wire_7c1a2b"
    assert result["output"] == "Hi Ada, greetings from the wire."
    assert result["usage"] == {"input_tokens": 11, "output_tokens": 8}
    assert result["provider_metadata"]["system_fingerprint"] == "fp_wire_7c1a2b"
    assert app.get(f"/api/prompt-results/{result['id']}").json()["system_fingerprint"] == "fp_wire_7c1a2b"
    (version,) = app.get(f"/api/prompt-templates/{tid}/versions").json()["items"]
    assert version["captured"] == {"system_fingerprint": "fp_wire_7c1a2b", "model": "gpt-4o-2024-08-06"}
    assert version["id"] == result["version_id"]

    (completion,) = wire.requests  # one provider call: the run's own completion told the identity, no probe
    assert completion.path == "/v1/chat/completions"
    assert completion.body["messages"] == [{"role": "user", "content": "Hello Ada from Prompter!"}]
    assert completion.headers["authorization"] == f"Bearer {SECRET}"

    assert app.metric("prompter_openai_fingerprint_present_total") == 1
    assert (
        app.metric(
            "gen_ai_client_token_usage_sum", gen_ai_token_type="output", gen_ai_response_model="gpt-4o-2024-08-06"
        )
        == 8
    )
    assert app.metric("prompter_probe_attempt_total", provider="openai", model_id="gpt-4o") == 0
    spans = app.spans()
    (chat,) = [s for s in spans if s.name == "chat gpt-4o"]  # the run's GenAI client span, and no probe's
    assert chat.attributes["openai.response.system_fingerprint"] == "fp_wire_7c1a2b"
    assert chat.attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    # The httpx client is instrumented: one HTTP client span per provider request, under the GenAI span.
    (http,) = [s for s in spans if s.kind is SpanKind.CLIENT and s.name == "POST"]
    assert http.parent is not None and http.parent.span_id == chat.context.span_id


@pytest.mark.parametrize(
    "provider, identity_field, identity",
    [
        ("anthropic", "model", "claude-sonnet-4-20250514"),
        ("google", "modelVersion", "gemini-2.0-flash-001"),
    ],
)
def test_anthropic_and_gemini_runs_pin_their_identity(observe, wire, provider, identity_field, identity):
    wire.script(default=Reply(200, OK[provider]("Hi Ada")))
    app = observe(provider)
    tid = app.template()
    run = app.post(f"/api/prompt-templates/{tid}/run", run_body(provider))
    assert run.status_code == 201, run.text
    assert run.json()["output"] == "Hi Ada" and run.json()["system_fingerprint"] is None
    (version,) = app.get(f"/api/prompt-templates/{tid}/versions").json()["items"]
    assert version["captured"] == {identity_field: identity}
    assert len(wire.requests) == 1


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_a_failed_probe_is_502_counts_a_failure_and_writes_no_version(observe, wire, provider):
    wire.script(default=Reply(500, ERROR[provider]("internal error")))
    app = observe(provider)
    tid = app.template()

    ensured = app.post(
        f"/api/prompt-templates/{tid}/ensure-version", {"provider": provider, "model_id": MODELS[provider]}
    )

    assert ensured.status_code == 502, ensured.text
    assert ensured.json()["error"] == "provider_error" and "HTTP 500" in ensured.json()["detail"]
    assert app.get(f"/api/prompt-templates/{tid}/versions").json()["items"] == []
    # The model never answered, so it holds no label of its own yet (telemetry/labels.py): it counts as `other`.
    assert app.metric("prompter_probe_failure_total", provider=provider, model_id="other") == 1
    assert app.metric("gen_ai_client_operation_duration_seconds_count", error_type="provider_error") == 1
    (chat,) = [s for s in app.spans() if s.name == f"chat {MODELS[provider]}"]
    assert chat.attributes["error.type"] == "provider_error"


def test_a_failed_run_writes_neither_result_nor_version(observe, wire):
    # The generation times out: nothing reported an identity, so no version exists, and no result row either.
    wire.script(default=Reply(200, openai_chat(), delay_s=3))
    app = observe("openai", provider_timeout_s=0.3)
    tid = app.template()

    run = app.post(f"/api/prompt-templates/{tid}/run", run_body("openai"))

    assert run.status_code == 504, run.text
    assert run.json()["error"] == "provider_timeout"
    assert app.get(f"/api/prompt-templates/{tid}/results").json()["items"] == []
    assert app.get(f"/api/prompt-templates/{tid}/versions").json()["items"] == []
    assert app.metric("prompter_prompt_results_insert_total") == 0
    assert app.metric("gen_ai_client_operation_duration_seconds_count", error_type="provider_timeout") == 1


def test_rate_limited_forever_is_429_with_retry_after(observe, wire):
    wire.script(
        default=Reply(
            429,
            anthropic_error("Number of requests has exceeded your rate limit", "rate_limit_error"),
            headers={"retry-after": "0"},
        )
    )
    app = observe("anthropic", provider_max_retries=1)
    tid = app.template()

    ensured = app.post(
        f"/api/prompt-templates/{tid}/ensure-version", {"provider": "anthropic", "model_id": "claude-sonnet-4-0"}
    )

    assert ensured.status_code == 429, ensured.text
    assert ensured.json()["error"] == "provider_rate_limited"
    assert ensured.headers["retry-after"] == "1"
    assert len(wire.requests) == 2  # one attempt + PROMPTER_PROVIDER_MAX_RETRIES=1


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_502_provider_auth_and_never_echoed(observe, wire, status):
    # OpenAI's real 401 text contains (part of) the key; here it contains all of it, to make a leak visible.
    wire.script(default=Reply(status, openai_error(f"Incorrect API key provided: {SECRET}.", code="invalid_api_key")))
    app = observe("openai")
    tid = app.template()
    ensured = app.post(f"/api/prompt-templates/{tid}/ensure-version", {"provider": "openai", "model_id": "gpt-4o"})
    run = app.post(f"/api/prompt-templates/{tid}/run", run_body("openai"))
    for response in (ensured, run):
        assert response.status_code == 502, response.text
        assert response.json()["error"] == "provider_auth" and "OPENAI_API_KEY" in response.json()["detail"]
    assert app.get(f"/api/prompt-templates/{tid}/results").json()["items"] == []
    # (the observe fixture then greps responses, /metrics, every exported span and every log record for the key)


def test_an_unreachable_provider_is_502_not_500(observe, wire):
    from tests.support.ports import free_port

    app = observe("openai", openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    tid = app.template()
    run = app.post(f"/api/prompt-templates/{tid}/run", run_body("openai"))
    assert run.status_code == 502 and run.json()["error"] == "provider_error", run.text


def test_settings_repr_masks_the_keys():
    from service.settings import Settings

    settings = Settings(openai_api_key=SECRET, anthropic_api_key=SECRET, google_api_key=SECRET, gemini_api_key=SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
