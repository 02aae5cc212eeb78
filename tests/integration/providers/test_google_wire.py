"""The Gemini adapter against a local server speaking generateContent: request shape and response mapping."""

from __future__ import annotations

import pytest

from service.http.errors import ProviderError, status_of
from service.providers.base import CompletionRequest, GenerationParams
from tests.integration.providers.wire_server import SECRET, Reply, gemini_response


async def test_complete_sends_generate_content_and_maps_the_answer(wire, make_adapter):
    wire.script(
        Reply(
            200,
            gemini_response("Hello Ada!", model_version="gemini-2.0-flash-001", prompt_tokens=9, candidate_tokens=5),
        )
    )
    params = GenerationParams(temperature=0.4, top_p=0.7, max_tokens=32, seed=5)

    completion = await make_adapter("google").complete(CompletionRequest("gemini-2.0-flash", "Say hi", params))

    (request,) = wire.requests
    assert (request.method, request.path) == ("POST", "/v1beta/models/gemini-2.0-flash:generateContent")
    assert request.query == ""  # the key is a header, never ?key= in a URL that ends up in spans
    assert request.headers["x-goog-api-key"] == SECRET
    assert request.body == {
        "contents": [{"role": "user", "parts": [{"text": "Say hi"}]}],
        "generationConfig": {"temperature": 0.4, "topP": 0.7, "maxOutputTokens": 32, "seed": 5},
    }
    assert completion.text == "Hello Ada!"
    assert completion.response_model == "gemini-2.0-flash-001"
    assert completion.identity == {"modelVersion": "gemini-2.0-flash-001"}
    assert (completion.input_tokens, completion.output_tokens) == (9, 5)
    assert completion.metadata["modelVersion"] == "gemini-2.0-flash-001"
    assert completion.metadata["finishReason"] == "STOP"


async def test_probe_cut_at_one_token_without_content_still_gives_the_identity(wire, make_adapter):
    wire.script(Reply(200, gemini_response(None, model_version="gemini-2.5-flash", candidate_tokens=None)))
    completion = await make_adapter("google").probe("models/gemini-2.5-flash", GenerationParams(seed=1))
    (request,) = wire.requests
    assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert request.body == {
        "contents": [{"role": "user", "parts": [{"text": "ping"}]}],
        "generationConfig": {"maxOutputTokens": 1},
    }
    assert completion.identity == {"modelVersion": "gemini-2.5-flash"} and completion.text == ""
    assert completion.output_tokens == 0


async def test_model_id_cannot_change_the_path(wire, make_adapter):
    wire.script(Reply(200, gemini_response()))
    await make_adapter("google").complete(CompletionRequest("../../v1/other?x=1", "hi"))
    assert wire.requests[0].path == "/v1beta/models/..%2F..%2Fv1%2Fother%3Fx%3D1:generateContent"


async def test_a_blocked_prompt_is_a_provider_error(wire, make_adapter):
    wire.script(Reply(200, {"promptFeedback": {"blockReason": "SAFETY"}, "modelVersion": "gemini-2.0-flash-001"}))
    with pytest.raises(ProviderError, match="SAFETY") as caught:
        await make_adapter("google").complete(CompletionRequest("gemini-2.0-flash", "hi"))
    assert (status_of(caught.value), caught.value.code) == (502, "provider_error")
