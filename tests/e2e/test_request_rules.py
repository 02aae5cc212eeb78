"""What a request must look like (service/http/request_rules.py, service/http/methods.py): JSON bodies need a JSON
media type, path ids are ASCII digits, NULs are found at any depth, HEAD answers like GET, Allow headers are true."""

from __future__ import annotations

import json

import pytest

from service.templates.names import NAME_PATTERN

TEMPLATE = {"org_id": "acme", "workspace_id": "w", "name": "t", "body": "Hi {{ who }}"}
RUN = {"provider": "openai", "model_id": "m", "variables": {"who": "x"}}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "detail"} and body["detail"], body
    if code:
        assert body["error"] == code, body
    return body


@pytest.fixture
def tid(client) -> int:
    response = client.post("/api/prompt-templates", json=TEMPLATE)
    assert response.status_code == 201, response.text
    return response.json()["id"]


# -- NUL at any depth -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"n": ["a\u0000b"]},
        {"n": {"deep": {"deeper": ["ok", "x\u0000"]}}},
        {"n": {"key\u0000": 1}},
        {"n": [[["\u0000"]]]},
    ],
)
def test_nul_nested_in_variables_is_400_and_writes_nothing(client, tid, extra):
    body = assert_error(
        client.post(f"/api/prompt-templates/{tid}/run", json={**RUN, "variables": {"who": "x", **extra}}),
        400,
        "invalid_request",
    )
    assert "NUL" in body["detail"] and "variables.n" in body["detail"], body
    assert client.get(f"/api/prompt-templates/{tid}/results").json()["items"] == []


# -- JSON media type --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonx",
        "text/json",
    ],
)
def test_json_endpoints_refuse_other_media_types_with_415(client, tid, content_type):
    headers = {"content-type": content_type} if content_type else {}
    cases = [
        ("/api/prompt-templates", {**TEMPLATE, "name": "form"}),
        (f"/api/prompt-templates/{tid}/ensure-version", {"provider": "openai", "model_id": "m"}),
        (f"/api/prompt-templates/{tid}/run", RUN),
    ]
    for path, payload in cases:
        response = client.post(path, content=json.dumps(payload).encode(), headers=headers)
        body = assert_error(response, 415, "unsupported_media_type")
        assert "application/json" in body["detail"]
    # nothing was written by any of them
    assert [t["id"] for t in client.get("/api/prompt-templates").json()["items"]] == [tid]
    assert client.get(f"/api/prompt-templates/{tid}/versions").json()["items"] == []


def test_json_with_an_empty_body_and_no_media_type_is_415(client):
    assert_error(client.post("/api/prompt-templates"), 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", 'Application/JSON;charset="UTF-8"', "application/x+json"],
)
def test_json_media_types_are_accepted(client, content_type):
    payload = {**TEMPLATE, "name": f"ok {content_type.replace('/', ' ')}"}  # names hold no `/`
    response = client.post("/api/prompt-templates", content=json.dumps(payload), headers={"content-type": content_type})
    assert response.status_code == 201, response.text


# -- path ids ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["{fullwidth}", "{arabic}", "+{tid}", "{tid}_0", " {tid}", "{tid} ", "0x1", "1e0"])
def test_ids_that_are_not_ascii_digits_are_404(client, tid, raw):
    """`int()` reads `１` (full-width) and `١` (Arabic-Indic) as the template's own id: they must not find it."""
    assert tid < 10
    raw = raw.format(tid=tid, fullwidth=chr(0xFF10 + tid), arabic=chr(0x0660 + tid))
    for path in (
        f"/api/prompt-templates/{raw}",
        f"/api/prompt-templates/{raw}/versions",
        f"/api/prompt-templates/{raw}/results",
        f"/api/prompt-results/{raw}",
    ):
        assert_error(client.get(path), 404, None)
    assert_error(client.post(f"/api/prompt-templates/{raw}/run", json=RUN), 404)
    assert client.get(f"/api/prompt-templates/{tid}/results").json()["items"] == []


def test_plain_and_zero_padded_ids_still_work(client, tid):
    assert client.get(f"/api/prompt-templates/{tid}").status_code == 200
    assert client.get(f"/api/prompt-templates/0{tid}").json()["id"] == tid


# -- HEAD and Allow ---------------------------------------------------------------------------------------------------


def test_head_answers_like_get_without_a_body(client, tid):
    for path in ("/healthz", "/api/prompt-templates", f"/api/prompt-templates/{tid}", "/schema/openapi.json"):
        get = client.get(path)
        head = client.head(path)
        assert head.status_code == get.status_code == 200, (path, head.status_code)
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["content-length"] == str(len(get.content))
    missing = client.head("/api/prompt-templates/999999")
    assert missing.status_code == 404 and missing.content == b""


def test_head_on_a_post_only_route_is_405_listing_the_real_methods(client, tid):
    response = client.head(f"/api/prompt-templates/{tid}/run")
    assert response.status_code == 405 and response.content == b""
    assert response.headers["allow"] == "OPTIONS, POST"


@pytest.mark.parametrize(
    "path, allow",
    [
        ("/api/prompt-templates", "GET, HEAD, OPTIONS, POST"),
        ("/api/prompt-templates/{tid}", "GET, HEAD, OPTIONS"),
        ("/api/prompt-templates/{tid}/run", "OPTIONS, POST"),
        ("/api/prompt-templates/{tid}/results", "GET, HEAD, OPTIONS"),
        ("/healthz", "GET, HEAD, OPTIONS"),
    ],
)
def test_options_and_405_list_every_method_the_path_accepts(client, tid, path, allow):
    path = path.format(tid=tid)
    options = client.options(path)
    assert options.status_code == 204 and options.headers["allow"] == allow
    wrong = client.request("DELETE", path)
    assert_error(wrong, 405, "method_not_allowed")
    assert wrong.headers["allow"] == allow


# -- strict bodies and the exact OpenAPI ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "openai", "model_id": "m", "refresh": 0},
        {"provider": "openai", "model_id": "m", "refresh": "true"},
        {"provider": "openai", "model_id": "m", "params": {"seed": "1"}},
        {"provider": "openai", "model_id": "m", "params": {"max_tokens": 1.5}},
        {"provider": 1, "model_id": "m"},
    ],
)
def test_bodies_are_held_to_their_schema_strictly(client, tid, body):
    """Litestar would convert these leniently (0 -> false, "1" -> 1); the schema says they are invalid."""
    response = client.post(f"/api/prompt-templates/{tid}/ensure-version", json=body)
    assert_error(response, 400, "invalid_request")
    assert client.get(f"/api/prompt-templates/{tid}/versions").json()["items"] == []


def test_json_numbers_are_read_as_json_schema_reads_them(client, tid):
    """107.0 is an integer and 1 is a number in JSON Schema: both are accepted where the schema says so."""
    body = {"provider": "openai", "model_id": "m", "params": {"max_tokens": 100.0, "temperature": 1}}
    response = client.post(f"/api/prompt-templates/{tid}/ensure-version", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["params"] == {"max_tokens": 100, "temperature": 1.0}


def test_the_openapi_document_states_what_the_server_enforces(client):
    document = client.get("/schema/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in ("TemplateCreate", "RunRequest", "EnsureVersionRequest", "Params", "LabelMove"):
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["RunRequest"]["properties"]["provider"]["enum"] == ["openai", "anthropic", "google"]
    temperature = schemas["Params"]["properties"]["temperature"]["anyOf"][0]
    assert temperature["minimum"] == 0 and temperature["maximum"] == 2  # Litestar drops a bound of 0
    assert schemas["TemplateCreate"]["properties"]["name"]["pattern"] == NAME_PATTERN  # refuses NUL among others
    assert "PROMPTER_AUTH=off" in schemas["TemplateCreate"]["properties"]["org_id"]["anyOf"][0]["description"]
    parameters = {
        (path, p["name"]): p
        for path, item in document["paths"].items()
        for op in item.values()
        for p in op.get("parameters", [])
    }
    cursor = parameters["/api/prompt-templates", "cursor"]
    assert cursor["schema"]["pattern"] == "^([1-9][0-9]{0,17})?$" and "next_cursor" in cursor["description"]
    template_id = parameters["/api/prompt-templates/{template_id}", "template_id"]["schema"]
    assert template_id["minimum"] == 0 and template_id["maximum"] == 2**63 - 1
    against = parameters["/api/prompt-templates/{template_id}/diff", "against"]["schema"]
    assert against["maximum"] == 2**63 - 1 and isinstance(against["maximum"], int)
    assert "422" in document["paths"]["/api/prompts/{name}"]["get"]["responses"]
    assert "415" in document["paths"]["/api/prompt-templates"]["post"]["responses"]
