"""Bad input gets a clear JSON error with the right status, never a 500, and writes nothing."""

from __future__ import annotations

import pytest

TEMPLATE = {"org_id": "acme", "workspace_id": "w", "name": "t", "body": "Hi {{ who }}"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "detail"} and body["detail"], body
    if code:
        assert body["error"] == code
    return body


@pytest.mark.parametrize(
    "payload",
    [
        {**TEMPLATE, "org_id": ""},
        {**TEMPLATE, "workspace_id": "w" * 65},
        {**TEMPLATE, "name": "n" * 201},
        {**TEMPLATE, "body": ""},
        {**TEMPLATE, "body": 5},
        {**TEMPLATE, "unexpected": 1},
        {"org_id": "acme"},
        [],
        {**TEMPLATE, "name": "bad\u0000name"},
        {**TEMPLATE, "body": "nul \u0000 inside"},
    ],
)
def test_schema_invalid_template_is_400_and_writes_nothing(client, payload):
    assert_error(client.post("/api/prompt-templates", json=payload), 400, "invalid_request")
    assert client.get("/api/prompt-templates").json()["items"] == []


def test_malformed_json_is_400(client):
    response = client.post(
        "/api/prompt-templates", content=b'{"org_id": ', headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_request")


def test_body_over_the_limit_is_413(make_client):
    client = make_client(max_body_bytes=1024)
    response = client.post("/api/prompt-templates", json={**TEMPLATE, "body": "x" * 2000})
    assert_error(response, 413, "request_too_large")


def test_template_over_the_template_limit_is_400(make_client):
    client = make_client(max_template_bytes=100)
    assert_error(client.post("/api/prompt-templates", json={**TEMPLATE, "body": "é" * 60}), 400, "template_too_large")


def test_too_many_variables_is_400(make_client):
    client = make_client(max_variables=2)
    body = "{{ a }} {{ b }} {{ c }}"
    assert_error(client.post("/api/prompt-templates", json={**TEMPLATE, "body": body}), 400, "too_many_variables")


@pytest.mark.parametrize(
    "path",
    [
        "/api/prompt-templates/999",
        "/api/prompt-templates/0",
        "/api/prompt-templates/-5",
        f"/api/prompt-templates/{2**70}",
        "/api/prompt-results/123",
    ],
)
def test_unknown_ids_are_404(client, path):
    assert_error(client.get(path), 404)


def test_non_numeric_id_is_a_clean_4xx(client):
    response = client.get("/api/prompt-templates/abc")
    assert response.status_code in (400, 404)
    assert set(response.json()) >= {"error", "detail"}


def test_unknown_provider_is_422_naming_the_allowed_ones(client):
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    for path, extra in (("ensure-version", {}), ("run", {"variables": {"who": "x"}})):
        body = assert_error(
            client.post(f"/api/prompt-templates/{tid}/{path}", json={"provider": "mistral", "model_id": "m", **extra}),
            422,
            "unknown_provider",
        )
        assert all(name in body["detail"] for name in ("openai", "anthropic", "google"))
    assert client.get(f"/api/prompt-templates/{tid}/versions").json()["items"] == []


def test_missing_variables_are_422_and_write_nothing(client):
    tid = client.post("/api/prompt-templates", json={**TEMPLATE, "body": "{{ a }} {{ b }} {{ c }}"}).json()["id"]
    body = assert_error(
        client.post(
            f"/api/prompt-templates/{tid}/run",
            json={"provider": "openai", "model_id": "m", "variables": {"b": 1, "extra": 2}},
        ),
        422,
        "missing_variables",
    )
    assert body["missing"] == ["a", "c"]
    assert client.get(f"/api/prompt-templates/{tid}/results").json()["items"] == []
    assert client.get(f"/api/prompt-templates/{tid}/versions").json()["items"] == []


def test_a_prompt_rendering_over_the_limit_is_422_before_anything_is_written(client):
    """The issue's case: a 65 KB body of `{{a}}` run with a 40 KB value would render 524 MB."""
    tid = client.post("/api/prompt-templates", json={**TEMPLATE, "body": "{{a}}" * 13_000}).json()["id"]
    run = {"provider": "openai", "model_id": "m", "variables": {"a": "y" * 40_000}}
    body = assert_error(client.post(f"/api/prompt-templates/{tid}/run", json=run), 422, "rendered_prompt_too_large")
    assert body["rendered_bytes"] == 520_000_000 and body["limit"] == 256 * 1024
    assert "PROMPTER_MAX_RENDERED_BYTES" in body["detail"] and "13000 occurrence(s)" in body["detail"]
    assert client.get(f"/api/prompt-templates/{tid}/results").json()["items"] == []
    assert client.get(f"/api/prompt-templates/{tid}/versions").json()["items"] == []
    assert client.get("/healthz").status_code == 200


def test_the_rendered_limit_is_a_setting_and_exact(make_client):
    client = make_client(max_rendered_bytes=100)
    tid = client.post("/api/prompt-templates", json={**TEMPLATE, "body": "Hi {{ who }}"}).json()["id"]
    run = {"provider": "openai", "model_id": "m"}
    at_limit = client.post(f"/api/prompt-templates/{tid}/run", json={**run, "variables": {"who": "é" * 48 + "x"}})
    assert at_limit.status_code == 201, at_limit.text  # 3 + 97 bytes
    over = client.post(f"/api/prompt-templates/{tid}/run", json={**run, "variables": {"who": "é" * 49}})
    assert_error(over, 422, "rendered_prompt_too_large")


@pytest.mark.parametrize(
    "params",
    [{"temperature": 3}, {"top_p": -0.1}, {"max_tokens": 0}, {"seed": 2**64}, {"temperature": "hot"}, {"unknown": 1}],
)
def test_invalid_params_are_400(client, params):
    tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
    response = client.post(
        f"/api/prompt-templates/{tid}/ensure-version", json={"provider": "openai", "model_id": "m", "params": params}
    )
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "cursor=%%%", "cursor=bm9wZQ"])
def test_bad_list_queries_are_400(client, query):
    assert_error(client.get(f"/api/prompt-templates?{query}"), 400)


def test_pagination_walks_every_template_once(client):
    ids = [client.post("/api/prompt-templates", json={**TEMPLATE, "name": f"t{i}"}).json()["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        page = client.get("/api/prompt-templates", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


def test_unmatched_route_and_wrong_method(client):
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.delete("/api/prompt-templates"), 405, "method_not_allowed")


def test_invalid_utf8_body_is_400(client):
    raw = b'{"org_id":"a","workspace_id":"w","name":"\xff\xfe","body":"x"}'
    response = client.post("/api/prompt-templates", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
@pytest.mark.parametrize("param", ["org_id", "workspace_id", "name"])
def test_nul_in_query_filters_is_400_not_a_database_error(request, make_client, db, param):
    client = make_client(db_url=request.getfixturevalue("pg_url")) if db == "postgresql" else make_client()
    assert_error(client.get("/api/prompt-templates", params={param: "a\x00b"}), 400, "invalid_request")
