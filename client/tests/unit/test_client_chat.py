"""Chat prompts in the client: `Prompt.render` returns the server's rendered messages (history included), the same
missing- and invalid-variable errors, and `openai_kwargs` / `anthropic_kwargs` that the official SDKs accept - checked
against their request types and sent through their real clients (onto a local HTTP server)."""

from __future__ import annotations

import sys
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient
from prompter_client import InvalidVariables, MissingVariables, Prompt

from service.app import create_app
from service.settings import Settings
from service.templates.chat import render_messages, validate_messages
from service.templates.typed import violations as server_violations
from tests.e2e.chat.support import (
    HISTORY,
    INPUT_SCHEMA,
    MESSAGES,
    RESPONSE_FORMAT,
    TENANT,
    TOOLS,
    VARIABLES,
    chat_template,
)
from tests.integration.providers.wire_server import Reply, WireServer

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")


@pytest.fixture
def resolved(tmp_path: Any) -> Prompt:
    """The chat prompt of the examples, created, pinned with tools + response schema, labelled and resolved by the
    real server; decoded by the client's own decoder."""
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path}/p.db", db_auto_migrate=True))
    with TestClient(app) as client:
        tid = client.post("/api/prompt-templates", json=chat_template()).json()["id"]
        version = client.post(
            f"/api/prompt-templates/{tid}/ensure-version",
            json={
                "provider": "openai",
                "model_id": "gpt-4o",
                "params": {"temperature": 0.2, "max_tokens": 300, "stop": ["END"]},
                "tools": TOOLS,
                "tool_choice": "auto",
                "response_format": RESPONSE_FORMAT,
            },
        ).json()
        client.put("/api/prompts/capitals/labels/production", json={"version_id": version["id"], **TENANT})
        body = client.get("/api/prompts/capitals", params=TENANT).content
    return msgspec.json.decode(body, type=Prompt)


def test_render_returns_the_servers_messages(resolved: Prompt) -> None:
    values = {**VARIABLES, "history": HISTORY}
    assert resolved.type == "chat" and resolved.messages == MESSAGES
    expected = render_messages(validate_messages(MESSAGES, max_messages=100), values, max_bytes=None)
    assert resolved.render(**values) == expected
    assert resolved.render(values)[5:7] == HISTORY
    assert len(resolved.render(**VARIABLES)) == len(MESSAGES) - 1  # no history: the placeholder renders as nothing
    assert resolved.bundle["tools"] == TOOLS and resolved.bundle["response_format"] == RESPONSE_FORMAT


def test_text_prompts_still_render_to_a_string() -> None:
    assert Prompt(name="t", body="Hi {{ a }}").render(a="x") == "Hi x"


@pytest.mark.parametrize("without_jsonschema", [False, True])
def test_invalid_and_missing_variables_are_the_servers_errors(
    resolved: Prompt, without_jsonschema: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if without_jsonschema:
        monkeypatch.setitem(sys.modules, "jsonschema", None)  # the client's built-in subset check
    bad = {"persona": 3, "language": "Klingon", "question": "?"}
    with pytest.raises(InvalidVariables) as raised:
        resolved.render(**bad)
    assert raised.value.code == "invalid_variables"
    assert [v["path"] for v in raised.value.violations] == [v["path"] for v in server_violations(INPUT_SCHEMA, bad)]
    if not without_jsonschema:
        assert raised.value.violations == server_violations(INPUT_SCHEMA, bad)
    untyped = Prompt(name="t", body="", type="chat", messages=MESSAGES)
    with pytest.raises(MissingVariables) as missing:
        untyped.render(persona="p")
    assert missing.value.missing == ["language", "question"]
    with pytest.raises(InvalidVariables) as history:
        untyped.render(**VARIABLES, history=[{"role": "tool", "content": "x"}])
    assert history.value.code == "invalid_history"


@pytest.fixture
def wire() -> Any:
    """A local HTTP server (127.0.0.1) that records what the SDKs send: their own HTTP stacks, unmodified."""
    server = WireServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_openai_kwargs_are_what_the_openai_sdk_takes(resolved: Prompt, wire: Any) -> None:
    from openai.types.chat import completion_create_params
    from pydantic import TypeAdapter

    kwargs = resolved.openai_kwargs(**VARIABLES, history=HISTORY)
    request_type = completion_create_params.CompletionCreateParamsNonStreaming
    assert set(kwargs) <= set(request_type.__annotations__) | {
        key for base in request_type.__mro__ for key in getattr(base, "__annotations__", {})
    }
    TypeAdapter(request_type).validate_python(kwargs)
    reply = {
        "id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{}"}}],
    }  # fmt: skip
    wire.script(Reply(200, reply))
    client = openai.OpenAI(api_key="sk-test", base_url=f"{wire.url}/v1", max_retries=0)
    client.chat.completions.create(**kwargs)
    body = wire.requests[0].body
    assert body["model"] == "gpt-4o" and body["messages"] == resolved.render(**VARIABLES, history=HISTORY)
    assert body["tools"] == TOOLS and body["tool_choice"] == "auto" and body["response_format"] == RESPONSE_FORMAT
    assert (body["temperature"], body["max_completion_tokens"], body["stop"]) == (0.2, 300, ["END"])


def test_anthropic_kwargs_are_what_the_anthropic_sdk_takes(resolved: Prompt, wire: Any) -> None:
    from anthropic.types import message_create_params
    from pydantic import TypeAdapter

    kwargs = resolved.anthropic_kwargs(**VARIABLES, history=HISTORY)
    typed = {key: value for key, value in kwargs.items() if key != "extra_body"}  # extra_body is a create() option
    TypeAdapter(message_create_params.MessageCreateParamsNonStreaming).validate_python(typed)
    reply = {
        "id": "m1", "type": "message", "role": "assistant", "model": "gpt-4o", "stop_reason": "end_turn",
        "content": [{"type": "text", "text": "{}"}], "usage": {"input_tokens": 1, "output_tokens": 1},
    }  # fmt: skip
    wire.script(Reply(200, reply))
    client = anthropic.Anthropic(api_key="sk-test", base_url=wire.url, max_retries=0)
    client.messages.create(**kwargs)
    body = wire.requests[0].body
    assert body["system"] == "You are a geography tutor. Answer in English."
    assert [m["role"] for m in body["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert body["tools"] == [
        {
            "name": "lookup_capital",
            "description": TOOLS[0]["function"]["description"],
            "input_schema": TOOLS[0]["function"]["parameters"],
        }
    ]
    assert body["tool_choice"] == {"type": "auto"}
    assert body["output_config"] == {
        "format": {"type": "json_schema", "schema": RESPONSE_FORMAT["json_schema"]["schema"]}
    }
    assert (body["max_tokens"], body["temperature"], body["stop_sequences"]) == (300, 0.2, ["END"])
