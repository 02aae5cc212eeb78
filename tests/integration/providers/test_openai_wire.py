"""The OpenAI adapter against a local server speaking Chat Completions: request shape and response mapping."""

from __future__ import annotations

from service.providers.base import CompletionRequest, GenerationParams
from service.providers.openai import max_tokens_field
from tests.integration.providers.wire_server import SECRET, Reply, openai_chat


async def test_complete_sends_chat_completions_and_maps_the_answer(wire, make_adapter):
    wire.script(
        Reply(200, openai_chat("Hello Ada!", fingerprint="fp_44709d6fcb", prompt_tokens=13, completion_tokens=7))
    )
    adapter = make_adapter("openai")
    params = GenerationParams(temperature=0.2, top_p=0.9, max_tokens=50, seed=7)

    completion = await adapter.complete(CompletionRequest("gpt-4o", "Say hello to Ada", params))

    (request,) = wire.requests
    assert (request.method, request.path, request.query) == ("POST", "/v1/chat/completions", "")
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Say hello to Ada"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "max_tokens": 50,  # a compatible server (not api.openai.com) gets max_tokens
    }
    assert completion.text == "Hello Ada!"
    assert completion.system_fingerprint == "fp_44709d6fcb"
    assert completion.response_model == "gpt-4o-2024-08-06"
    # The identity is the fingerprint AND the dated response model (service/providers/identity.py).
    assert completion.identity == {"system_fingerprint": "fp_44709d6fcb", "model": "gpt-4o-2024-08-06"}
    assert (completion.input_tokens, completion.output_tokens) == (13, 7)
    assert completion.metadata["system_fingerprint"] == "fp_44709d6fcb"
    assert completion.metadata["finish_reason"] == "stop"


async def test_unset_params_are_not_sent(wire, make_adapter):
    wire.script(Reply(200, openai_chat()))
    await make_adapter("openai").complete(CompletionRequest("gpt-4o", "hi"))
    assert wire.requests[0].body == {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


async def test_probe_is_one_token_and_ignores_sampling_params(wire, make_adapter):
    wire.script(Reply(200, openai_chat("p", fingerprint="fp_probe01", completion_tokens=1)))
    completion = await make_adapter("openai").probe("gpt-4o", GenerationParams(temperature=1.5, seed=3))
    assert wire.requests[0].body == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
    }
    assert completion.identity == {"system_fingerprint": "fp_probe01", "model": "gpt-4o-2024-08-06"}


async def test_a_compatible_server_without_fingerprint_is_identified_by_its_model(wire, make_adapter):
    body = openai_chat("ok", fingerprint=None, model="llama3.1:8b")
    del body["system_fingerprint"]  # vLLM / Ollama often omit it entirely
    wire.script(Reply(200, body), Reply(200, openai_chat("ok", fingerprint=None)))
    adapter = make_adapter("openai")
    omitted = await adapter.complete(CompletionRequest("llama3.1:8b", "hi"))
    null = await adapter.complete(CompletionRequest("llama3.1:8b", "hi"))
    assert omitted.identity == {"system_fingerprint": None, "model": "llama3.1:8b"}
    assert omitted.system_fingerprint is None and omitted.response_model == "llama3.1:8b"
    # openai_chat's default response model is the dated one: it alone tells this build apart.
    assert null.identity == {"system_fingerprint": None, "model": "gpt-4o-2024-08-06"}
    assert null.metadata["system_fingerprint"] is None


async def test_null_content_and_missing_usage_are_tolerated(wire, make_adapter):
    body = openai_chat()
    body["choices"][0]["message"]["content"] = None  # a refusal / tool call carries no text
    del body["usage"]
    wire.script(Reply(200, body))
    completion = await make_adapter("openai").complete(CompletionRequest("gpt-4o", "hi"))
    assert completion.text == "" and (completion.input_tokens, completion.output_tokens) == (0, 0)


def test_api_openai_com_gets_max_completion_tokens():
    # Its reasoning models reject the deprecated max_tokens; every other host gets max_tokens (Ollama, llama.cpp).
    assert max_tokens_field("https://api.openai.com/v1") == "max_completion_tokens"
    assert max_tokens_field("http://localhost:11434/v1") == "max_tokens"
    assert max_tokens_field("https://litellm.internal/v1") == "max_tokens"
