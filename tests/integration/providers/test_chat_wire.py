"""Chat prompts and the bundle on each provider's wire: the request each adapter sends for a system message, few-shot
turns, a developer message, a tool, tool_choice and a response schema, and the tool calls it reads back."""

from __future__ import annotations

from service.providers.base import CompletionRequest, GenerationParams
from service.providers.google import gemini_schema
from tests.integration.providers.wire_server import Reply, anthropic_message, gemini_response, openai_chat

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "developer", "content": "Answer in JSON."},
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": '{"answer": "Paris"}'},
    {"role": "user", "content": "Capital of Italy?"},
]
PARAMETERS = {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}
TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "Look up.", "parameters": PARAMETERS}}]
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "note": {"type": ["string", "null"]}},
    "required": ["answer"],
    "additionalProperties": False,
}
FORMAT = {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}}
PARAMS = GenerationParams(temperature=0.1, stop=("END",), presence_penalty=0.5, frequency_penalty=0.25)


def _request(tool_choice=None) -> CompletionRequest:
    return CompletionRequest("m", "(text)", PARAMS, MESSAGES, TOOLS, tool_choice, FORMAT)


async def test_openai_sends_the_bundle_as_is_and_reads_tool_calls(wire, make_adapter):
    answer = openai_chat("")
    answer["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"country": "IT"}'}}
        ],
    }
    wire.script(Reply(200, answer))
    completion = await make_adapter("openai").complete(_request("required"))
    body = wire.requests[0].body
    # A compatible server (not api.openai.com) gets `developer` as `system`.
    assert body["messages"] == [{**MESSAGES[0]}, {"role": "system", "content": "Answer in JSON."}, *MESSAGES[2:]]
    assert body["tools"] == TOOLS and body["tool_choice"] == "required" and body["response_format"] == FORMAT
    assert (body["stop"], body["presence_penalty"], body["frequency_penalty"]) == (["END"], 0.5, 0.25)
    assert completion.tool_calls == [{"id": "call_1", "name": "lookup", "arguments": {"country": "IT"}}]
    assert completion.text == ""


async def test_anthropic_lifts_system_maps_tools_and_uses_output_config(wire, make_adapter):
    answer = anthropic_message("")
    answer["content"] = [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"country": "IT"}}]
    answer["stop_reason"] = "tool_use"
    wire.script(Reply(200, answer))
    completion = await make_adapter("anthropic").complete(
        _request({"type": "function", "function": {"name": "lookup"}})
    )
    body = wire.requests[0].body
    assert body["system"] == "You are terse.\n\nAnswer in JSON."
    assert body["messages"] == MESSAGES[2:]
    assert body["tools"] == [{"name": "lookup", "description": "Look up.", "input_schema": PARAMETERS}]
    assert body["tool_choice"] == {"type": "tool", "name": "lookup"}
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert body["stop_sequences"] == ["END"] and "presence_penalty" not in body
    assert completion.tool_calls == [{"id": "toolu_1", "name": "lookup", "arguments": {"country": "IT"}}]
    assert completion.metadata["stop_reason"] == "tool_use"


async def test_gemini_system_instruction_model_role_declarations_and_response_schema(wire, make_adapter):
    answer = gemini_response("")
    answer["candidates"][0]["content"]["parts"] = [{"functionCall": {"name": "lookup", "args": {"country": "IT"}}}]
    wire.script(Reply(200, answer))
    completion = await make_adapter("google").complete(_request("auto"))
    body = wire.requests[0].body
    assert body["systemInstruction"] == {"parts": [{"text": "You are terse.\n\nAnswer in JSON."}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][1]["parts"] == [{"text": '{"answer": "Paris"}'}]
    assert body["tools"] == [
        {"functionDeclarations": [{"name": "lookup", "description": "Look up.", "parameters": PARAMETERS}]}
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"] == {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "note": {"type": "string", "nullable": True}},
        "required": ["answer"],
    }
    assert (config["stopSequences"], config["presencePenalty"], config["frequencyPenalty"]) == (["END"], 0.5, 0.25)
    assert completion.tool_calls == [{"id": None, "name": "lookup", "arguments": {"country": "IT"}}]


def test_gemini_schema_keeps_its_subset_only():
    assert gemini_schema({"$schema": "x", "type": "array", "items": {"const": "a"}, "minItems": 1}) == {
        "type": "array",
        "items": {"enum": ["a"]},
        "minItems": 1,
    }
