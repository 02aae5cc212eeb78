"""The Anthropic adapter against a local server speaking the Messages API: request shape and response mapping."""

from __future__ import annotations

from service.providers.anthropic import DEFAULT_MAX_TOKENS
from service.providers.base import CompletionRequest, GenerationParams
from tests.integration.providers.wire_server import SECRET, Reply, anthropic_message


async def test_complete_sends_messages_and_maps_the_answer(wire, make_adapter):
    body = anthropic_message("Hello Ada!", model="claude-sonnet-4-20250514", input_tokens=12, output_tokens=6)
    body["content"].insert(0, {"type": "thinking", "thinking": "hmm", "signature": "x"})
    wire.script(Reply(200, body))
    params = GenerationParams(temperature=0.3, top_p=0.8, max_tokens=64, seed=11)

    completion = await make_adapter("anthropic").complete(CompletionRequest("claude-sonnet-4-0", "Say hi", params))

    (request,) = wire.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["x-api-key"] == SECRET
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    # seed has no Anthropic equivalent: not sent.
    assert request.body == {
        "model": "claude-sonnet-4-0",
        "max_tokens": 64,
        "temperature": 0.3,
        "top_p": 0.8,
        "messages": [{"role": "user", "content": "Say hi"}],
    }
    assert completion.text == "Hello Ada!"
    assert completion.response_model == "claude-sonnet-4-20250514"
    assert completion.identity == {"model": "claude-sonnet-4-20250514"}
    assert completion.system_fingerprint is None
    assert (completion.input_tokens, completion.output_tokens) == (12, 6)
    assert completion.metadata["model"] == "claude-sonnet-4-20250514"
    assert completion.metadata["stop_reason"] == "end_turn"


async def test_max_tokens_is_always_sent(wire, make_adapter):
    wire.script(Reply(200, anthropic_message()))
    await make_adapter("anthropic").complete(CompletionRequest("claude-sonnet-4-0", "hi"))
    assert wire.requests[0].body["max_tokens"] == DEFAULT_MAX_TOKENS == 1024


async def test_probe_is_one_token(wire, make_adapter):
    wire.script(Reply(200, anthropic_message("p", model="claude-3-5-haiku-20241022", output_tokens=1)))
    completion = await make_adapter("anthropic").probe("claude-3-5-haiku-latest", GenerationParams(temperature=1))
    assert wire.requests[0].body == {
        "model": "claude-3-5-haiku-latest",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "ping"}],
    }
    assert completion.identity == {"model": "claude-3-5-haiku-20241022"}
