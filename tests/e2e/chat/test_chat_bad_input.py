"""Malformed chat templates and bundles: {error, detail} naming the path, and nothing stored. 422 where the OpenAPI
document allows the shape (messages, schemas and tools are free-form objects there) and the domain refuses it; 400
where the schema itself does (an unknown param or type)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.e2e.chat.support import MESSAGES, RESPONSE_FORMAT, TENANT, TOOLS, chat_template


def _stored(client: Any) -> int:
    return len(client.get("/api/prompt-templates", params=TENANT).json()["items"])


TEMPLATE_CASES = [
    ("no content", [{"role": "user"}], "invalid_template", "messages[0].content"),
    ("empty content", [{"role": "user", "content": ""}], "invalid_template", "messages[0].content"),
    ("unknown role", [{"role": "robot", "content": "hi"}], "invalid_template", "messages[0].role"),
    ("unknown field", [{"role": "user", "content": "hi", "nme": "x"}], "invalid_template", "messages[0].nme"),
    ("unnamed placeholder", [{"type": "placeholder"}], "invalid_template", "messages[0].name"),
    (
        "placeholder clashes with a variable",
        [{"role": "user", "content": "{{ history }}"}, {"type": "placeholder", "name": "history"}],
        "placeholder_clash",
        "messages[1].name",
    ),
    ("no messages", [], "invalid_template", "messages"),
]


@pytest.mark.parametrize("case,messages,code,path", TEMPLATE_CASES, ids=[c[0] for c in TEMPLATE_CASES])
def test_malformed_messages_are_refused_with_the_path(
    client: Any, case: str, messages: Any, code: str, path: str
) -> None:
    response = client.post("/api/prompt-templates", json=chat_template(messages=messages, input_schema=None))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == code and body["path"] == path and path in body["detail"]
    assert _stored(client) == 0


def test_too_many_messages_and_a_malformed_input_schema(make_client: Any) -> None:
    client = make_client(max_messages=3)
    many = client.post("/api/prompt-templates", json=chat_template(input_schema=None))
    assert many.status_code == 422 and many.json()["error"] == "too_many_messages", many.text
    schema = client.post(
        "/api/prompt-templates",
        json=chat_template(
            messages=MESSAGES[:2], input_schema={"type": "object", "properties": {"x": {"type": "strin"}}}
        ),
    )
    assert schema.status_code == 422, schema.text
    assert schema.json()["error"] == "invalid_schema"
    assert schema.json()["path"].startswith("input_schema.properties.x.type")
    assert _stored(client) == 0


def test_text_and_chat_fields_do_not_mix(client: Any) -> None:
    both = client.post("/api/prompt-templates", json={**chat_template(), "body": "hi"})
    assert both.status_code == 422 and both.json()["path"] == "body"
    text_with_messages = client.post("/api/prompt-templates", json={"name": "t", "messages": MESSAGES, **TENANT})
    assert text_with_messages.status_code == 422 and text_with_messages.json()["path"] == "messages"
    unknown_type = client.post("/api/prompt-templates", json={**chat_template(), "type": "audio"})
    assert unknown_type.status_code == 400 and unknown_type.json()["error"] == "invalid_request"


def _bad_tools() -> list[tuple[str, dict[str, Any], str]]:
    no_name = copy.deepcopy(TOOLS)
    del no_name[0]["function"]["name"]
    bad_params = copy.deepcopy(TOOLS)
    bad_params[0]["function"]["parameters"]["properties"]["country"]["type"] = 7
    not_object = copy.deepcopy(TOOLS)
    not_object[0]["function"]["parameters"] = {"type": "string"}
    bad_schema = copy.deepcopy(RESPONSE_FORMAT)
    bad_schema["json_schema"]["schema"]["required"] = "answer"
    return [
        ("tool without a name", {"tools": no_name}, "tools[0].function.name"),
        (
            "tool parameters not JSON Schema",
            {"tools": bad_params},
            "tools[0].function.parameters.properties.country.type",
        ),
        ("tool parameters not an object", {"tools": not_object}, "tools[0].function.parameters.type"),
        ("not a function tool", {"tools": [{"type": "retrieval"}]}, "tools[0]"),
        (
            "tool_choice names no tool",
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "x"}}},
            "tool_choice.function.name",
        ),
        ("tool_choice without tools", {"tool_choice": "required"}, "tool_choice"),
        ("response schema malformed", {"response_format": bad_schema}, "response_format.json_schema.schema.required"),
        ("response_format of another type", {"response_format": {"type": "xml"}}, "response_format"),
        (
            "a remote $ref",
            {"response_format": {**RESPONSE_FORMAT, "json_schema": {"name": "a", "schema": {"$ref": "http://x/s"}}}},
            "response_format.json_schema.schema.$ref",
        ),
    ]


@pytest.mark.parametrize("case,bundle,path", _bad_tools(), ids=[c[0] for c in _bad_tools()])
def test_malformed_bundles_are_refused_with_the_path_and_nothing_is_stored(
    client: Any, case: str, bundle: dict[str, Any], path: str
) -> None:
    tid = client.post("/api/prompt-templates", json=chat_template()).json()["id"]
    for url, extra in (("ensure-version", {}), ("run", {"variables": {}})):
        response = client.post(
            f"/api/prompt-templates/{tid}/{url}", json={"provider": "openai", "model_id": "m", **bundle, **extra}
        )
        assert response.status_code == 422, response.text
        assert response.json()["path"] == path and path in response.json()["detail"]
    assert client.get(f"/api/prompt-templates/{tid}/versions").json()["items"] == []
    assert client.get(f"/api/prompt-templates/{tid}/results").json()["items"] == []


def test_a_response_schema_over_the_size_limit_and_an_unknown_param(make_client: Any) -> None:
    client = make_client(max_schema_bytes=100)
    tid = client.post("/api/prompt-templates", json=chat_template(input_schema=None)).json()["id"]
    big = client.post(
        f"/api/prompt-templates/{tid}/ensure-version",
        json={"provider": "openai", "model_id": "m", "response_format": RESPONSE_FORMAT},
    )
    assert big.status_code == 422 and big.json()["error"] == "schema_too_large", big.text
    assert big.json()["path"] == "response_format.json_schema.schema"
    unknown = client.post(
        f"/api/prompt-templates/{tid}/ensure-version",
        json={"provider": "openai", "model_id": "m", "params": {"topk": 3}},
    )
    assert unknown.status_code == 400 and "params" in unknown.json()["detail"] and "topk" in unknown.json()["detail"]
    assert client.get(f"/api/prompt-templates/{tid}/versions").json()["items"] == []
