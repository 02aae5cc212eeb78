"""The adapters against a real server this project did not write: LiteLLM's proxy (`litellm[proxy]` from PyPI, in its own
venv .venv-litellm that ./scripts/test makes), serving OpenAI's (/v1/chat/completions), Anthropic's (/v1/messages) and
Gemini's (/v1beta/models/{model}:generateContent) wire formats on localhost from models with `mock_response` (no
network, no real keys).

LiteLLM sends no `system_fingerprint` and no `modelVersion`: exactly the case the identity rules must handle
(service/providers/identity.py). OpenAI versions are pinned to the response `model` with a null fingerprint, Gemini
versions to a null modelVersion, and each run makes one provider call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import need
from tests.support.litellm import litellm_binary, litellm_proxy

TEMPLATE = {"org_id": "acme", "workspace_id": "litellm", "name": "greet", "body": "Hello {{ name }}!"}
KEY = "sk-litellm-test-key"
CONFIG = f"""
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o-2024-08-06
      api_key: not-used
      mock_response: "Hello Ada, from LiteLLM's OpenAI route."
  - model_name: gemini-2.0-flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_key: not-used
      mock_response: "Hello Ada, from LiteLLM's Gemini route."
  - model_name: claude-sonnet-4
    litellm_params:
      model: anthropic/claude-sonnet-4-20250514
      api_key: not-used
      mock_response: "Hello Ada, from LiteLLM's Anthropic route."
  # Chat prompts with a bundle: a JSON answer per route, and tool calls (LiteLLM's mock returns them as OpenAI
  # tool_calls; its Anthropic and Gemini routes translate the request's tools but answer the mock text only).
  # api_base on loopback: a mock that did not apply would fail here instead of reaching out.
  - model_name: gpt-4o-json
    litellm_params:
      model: openai/gpt-4o-2024-08-06
      api_key: not-used
      api_base: http://127.0.0.1:9
      mock_response: '{{"answer": "Rome", "confidence": 0.9}}'
  - model_name: claude-json
    litellm_params:
      model: anthropic/claude-sonnet-4-20250514
      api_key: not-used
      api_base: http://127.0.0.1:9
      mock_response: '{{"answer": "Rome", "confidence": 0.9}}'
  - model_name: gemini-json
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_key: not-used
      api_base: http://127.0.0.1:9
      mock_response: '{{"answer": "Rome", "confidence": 0.9}}'
  - model_name: gpt-4o-tools
    litellm_params:
      model: openai/gpt-4o-2024-08-06
      api_key: not-used
      api_base: http://127.0.0.1:9
      mock_response: "Calling lookup_capital."
      mock_tool_calls:
        - id: call_litellm_1
          type: function
          function:
            name: lookup_capital
            arguments: '{{"country": "Italy"}}'
general_settings:
  master_key: {KEY}
litellm_settings:
  telemetry: false
"""


@pytest.fixture(scope="module")
def litellm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = litellm_binary()
    if binary is None:
        need("litellm not found (./scripts/test installs litellm[proxy] into .venv-litellm)")
        return
    # The proxy imports a lot; on a busy 2-core machine starting it takes a while.
    with litellm_proxy(binary, CONFIG, tmp_path_factory.mktemp("litellm"), startup_s=120) as url:
        yield url


def test_openai_route_no_fingerprint_pins_the_response_model_with_one_call_per_run(make_client: Any, litellm_url: str):
    client = make_client(openai_api_key=KEY, openai_base_url=f"{litellm_url}/v1")
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    body = {"provider": "openai", "model_id": "gpt-4o", "variables": {"name": "Ada"}, "params": {"max_tokens": 50}}

    first = client.post(f"/api/prompt-templates/{tid}/run", json=body)
    second = client.post(f"/api/prompt-templates/{tid}/run", json=body)

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    result = first.json()
    assert result["output"] == "Hello Ada, from LiteLLM's OpenAI route."
    assert result["system_fingerprint"] is None  # LiteLLM sends none
    assert first.json()["version_id"] == second.json()["version_id"]
    (version,) = client.get(f"/api/prompt-templates/{tid}/versions").json()["items"]
    assert version["captured"]["system_fingerprint"] is None
    # The model LiteLLM answered with is what tells builds apart here (it reports the deployment's model).
    assert version["captured"]["model"] == result["provider_metadata"]["model"]
    assert version["captured"]["model"]
    assert version["drift"] is False

    # The explicit pin (a probe) lands on the same version: probe and completion follow the same identity rules.
    pinned = client.post(
        f"/api/prompt-templates/{tid}/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"}
    )
    assert pinned.status_code in (200, 201), pinned.text

    metrics = client.get("/metrics").text
    calls = [
        line
        for line in metrics.splitlines()
        if line.startswith("gen_ai_client_operation_duration_seconds_count") and 'gen_ai_provider_name="openai"' in line
    ]
    # Two runs and one probe reached LiteLLM: three provider calls, not five.
    assert sum(float(line.rsplit(" ", 1)[1]) for line in calls) == 3


def test_anthropic_route_pins_the_response_model(make_client: Any, litellm_url: str):
    client = make_client(anthropic_api_key=KEY, anthropic_base_url=litellm_url)
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]

    run = client.post(
        f"/api/prompt-templates/{tid}/run",
        json={"provider": "anthropic", "model_id": "claude-sonnet-4", "variables": {"name": "Ada"}},
    )

    assert run.status_code == 201, run.text
    result = run.json()
    assert result["output"] == "Hello Ada, from LiteLLM's Anthropic route."
    assert result["system_fingerprint"] is None
    (version,) = client.get(f"/api/prompt-templates/{tid}/versions").json()["items"]
    assert set(version["captured"]) == {"model"} and version["captured"]["model"]
    assert version["captured"]["model"] == result["provider_metadata"]["model"]


def test_gemini_route_no_model_version_and_models_prefix_is_the_same_model(make_client: Any, litellm_url: str):
    client = make_client(google_api_key=KEY, google_base_url=litellm_url)
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    path = f"/api/prompt-templates/{tid}/run"

    prefixed = client.post(
        path, json={"provider": "google", "model_id": "models/gemini-2.0-flash", "variables": {"name": "Ada"}}
    )
    plain = client.post(path, json={"provider": "google", "model_id": "gemini-2.0-flash", "variables": {"name": "Ada"}})

    assert prefixed.status_code == 201, prefixed.text
    assert plain.status_code == 201, plain.text
    assert prefixed.json()["output"] == "Hello Ada, from LiteLLM's Gemini route."
    # `models/x` and `x` are one model: one model_id on the results, one version.
    assert prefixed.json()["model_id"] == plain.json()["model_id"] == "gemini-2.0-flash"
    assert prefixed.json()["version_id"] == plain.json()["version_id"]
    (version,) = client.get(f"/api/prompt-templates/{tid}/versions").json()["items"]
    assert version["captured"] == {"modelVersion": None}  # LiteLLM sends none
    assert prefixed.json()["provider_metadata"]["modelVersion"] is None


# --- chat prompts with tools and a response schema, through each route -------------------------------------------


@pytest.mark.parametrize(
    "provider,model_id,settings",
    [
        ("openai", "gpt-4o-json", lambda url: {"openai_api_key": KEY, "openai_base_url": f"{url}/v1"}),
        ("anthropic", "claude-json", lambda url: {"anthropic_api_key": KEY, "anthropic_base_url": url}),
        ("google", "gemini-json", lambda url: {"google_api_key": KEY, "google_base_url": url}),
    ],
)
def test_chat_prompt_with_tools_and_response_format_pinned_labelled_and_run(
    make_client: Any, litellm_url: str, provider: str, model_id: str, settings: Any
):
    from tests.e2e.chat.support import HISTORY, RESPONSE_FORMAT, TENANT, TOOLS, VARIABLES, chat_template

    client = make_client(**settings(litellm_url))
    tid = client.post("/api/prompt-templates", json=chat_template()).json()["id"]
    pinned = client.post(
        f"/api/prompt-templates/{tid}/ensure-version",
        json={
            "provider": provider,
            "model_id": model_id,
            "params": {"max_tokens": 50, "stop": ["END"]},
            "tools": TOOLS,
            "tool_choice": "auto",
            "response_format": RESPONSE_FORMAT,
        },
    )
    assert pinned.status_code == 201, pinned.text
    moved = client.put("/api/prompts/capitals/labels/production", json={"version_id": pinned.json()["id"], **TENANT})
    assert moved.status_code == 200, moved.text

    run = client.post("/api/prompts/capitals/run", json={"variables": {**VARIABLES, "history": HISTORY}, **TENANT})

    assert run.status_code == 201, run.text
    result = run.json()
    assert result["structured_output"] == {"answer": "Rome", "confidence": 0.9}
    assert result["schema_valid"] is True
    assert result["identity_matches_label"] is True and result["version_id"] == pinned.json()["id"]
    assert result["rendered_messages"][-1] == {"role": "user", "content": VARIABLES["question"]}


def test_openai_route_returns_tool_calls(make_client: Any, litellm_url: str):
    from tests.e2e.chat.support import TOOLS, VARIABLES, chat_template

    client = make_client(openai_api_key=KEY, openai_base_url=f"{litellm_url}/v1")
    tid = client.post("/api/prompt-templates", json=chat_template()).json()["id"]
    run = client.post(
        f"/api/prompt-templates/{tid}/run",
        json={
            "provider": "openai",
            "model_id": "gpt-4o-tools",
            "variables": VARIABLES,
            "tools": TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "lookup_capital"}},
        },
    )
    assert run.status_code == 201, run.text
    assert run.json()["tool_calls"] == [
        {"id": "call_litellm_1", "name": "lookup_capital", "arguments": {"country": "Italy"}}
    ]
