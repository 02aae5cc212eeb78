"""Hand-written hostile input through a real server (uvicorn) on PostgreSQL: oversized and endless bodies, deeply nested
JSON, huge values, hostile unicode, NULs, absurd ids and limits, forged cursors, path-traversal names. Every answer is
a deliberate 2xx/4xx with the JSON error shape, never a 5xx, and a refused request writes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from service.http.request_limits import MAX_JSON_DEPTH
from service.settings import Settings
from tests.conftest import _admin, _with_database
from tests.reliability.live import LiveServer

TEMPLATE = {"org_id": "acme", "workspace_id": "hostile", "name": "t", "body": "Hello {{ who }}"}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(pg_server_url: str) -> Iterator[LiveServer]:
    """One server and database for the module: these cases only read or add rows they then look up by id."""
    name = f"prompter_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
    live = LiveServer(Settings(db_url=_with_database(pg_server_url, name), db_auto_migrate=True, db_pool_size=3))
    try:
        yield live.start()
    finally:
        live.stop()
        asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.fixture
def template_id(client: httpx.Client) -> int:
    response = client.post("/api/prompt-templates", json={**TEMPLATE, "name": f"t-{uuid.uuid4().hex[:8]}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "detail"} and body["detail"], body
    if code is not None:
        assert body["error"] == code, body
    return body


def count_rows(server: LiveServer, table: str) -> int:
    async def run() -> int:
        conn = await asyncpg.connect(server.settings.db.url)
        try:
            return await conn.fetchval(f"SELECT count(*) FROM {table}")
        finally:
            await conn.close()

    return asyncio.run(run())


def run_body(variables_json: str) -> bytes:
    return ('{"provider": "openai", "model_id": "gpt-4o", "variables": ' + variables_json + "}").encode()


# -- size -------------------------------------------------------------------------------------------------------------


def test_10_mb_body_is_413_and_writes_nothing(server, client):
    before = count_rows(server, "prompt_templates")
    body = b'{"org_id": "a", "workspace_id": "w", "name": "big", "body": "' + b"x" * 10_000_000 + b'"}'
    assert_error(client.post("/api/prompt-templates", content=body, headers=JSON), 413, "request_too_large")
    assert count_rows(server, "prompt_templates") == before


def test_endless_chunked_body_is_cut_off_at_the_limit(client):
    """No Content-Length to check up front: the limit applies while streaming (10 MB offered, refused at 256 KiB)."""

    def chunks() -> Iterator[bytes]:
        yield b'{"org_id": "a", "workspace_id": "w", "name": "big", "body": "'
        for _ in range(100):
            yield b"x" * 100_000
        yield b'"}'

    assert_error(client.post("/api/prompt-templates", content=chunks(), headers=JSON), 413, "request_too_large")


def test_huge_variable_value_within_the_limit_is_stored_verbatim(client, template_id):
    value = ("é😀" * 40_000)[:66_000] + "\u202e end"  # ~200 KB of UTF-8: under the 256 KiB body limit
    response = client.post(
        f"/api/prompt-templates/{template_id}/run",
        json={"provider": "openai", "model_id": "gpt-4o", "variables": {"who": value}},
    )
    assert response.status_code == 201, response.text[:300]
    stored = client.get(f"/api/prompt-results/{response.json()['id']}").json()
    assert stored["variables"]["who"] == value
    assert stored["rendered_prompt"] == f"Hello {value}"


def test_thousands_of_extra_variables_are_accepted_and_kept(client, template_id):
    variables = {f"k{i}": i for i in range(10_000)} | {"who": "x"}
    response = client.post(
        f"/api/prompt-templates/{template_id}/run",
        json={"provider": "openai", "model_id": "gpt-4o", "variables": variables},
    )
    assert response.status_code == 201, response.text[:300]
    assert len(client.get(f"/api/prompt-results/{response.json()['id']}").json()["variables"]) == 10_001


# -- nesting ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 500, 990, 100_000])
def test_deeply_nested_json_is_400_never_500(server, client, template_id, depth):
    before = count_rows(server, "prompt_results")
    arrays = "[" * depth + "]" * depth
    objects = '{"a": ' * depth + "1" + "}" * depth
    for body in (arrays.encode(), run_body('{"who": ' + arrays + "}"), run_body('{"who": ' + objects + "}")):
        response = client.post(f"/api/prompt-templates/{template_id}/run", content=body, headers=JSON)
        if response.status_code == 413:  # 100k nested objects is over the body limit: refused even earlier
            continue
        assert_error(response, 400)
        assert response.json()["error"] in {"json_too_deep", "invalid_request"}
    assert count_rows(server, "prompt_results") == before
    assert client.get("/healthz").status_code == 200  # the worker survived


def test_nesting_at_the_limit_is_accepted(client, template_id):
    value = "[" * (MAX_JSON_DEPTH - 2) + "]" * (MAX_JSON_DEPTH - 2)  # body object + variables object + these
    response = client.post(
        f"/api/prompt-templates/{template_id}/run", content=run_body('{"who": ' + value + "}"), headers=JSON
    )
    assert response.status_code == 201, response.text


# -- unicode, NULs, encodings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("😀" * 200, "😀" * 200),  # 200 characters, 800 bytes: the limit counts characters
        ("e\u0301" * 100, "\u00e9" * 100),  # combining marks: stored in NFC (service/templates/names.py)
        ("日本語のテンプレート", "日本語のテンプレート"),
        ("%2e%2e%2f%2e%2e%2f", "%2e%2e%2f%2e%2e%2f"),  # percent signs are plain characters
    ],
)
def test_unicode_names_are_stored_in_nfc_and_read_back(client, name, stored):
    response = client.post("/api/prompt-templates", json={**TEMPLATE, "name": name, "body": f"{name} {{{{ who }}}}"})
    assert response.status_code == 201, response.text
    got = client.get(f"/api/prompt-templates/{response.json()['id']}").json()
    assert got["name"] == stored
    listed = client.get("/api/prompt-templates", params={"org_id": TEMPLATE["org_id"], "name": stored}).json()["items"]
    assert [t["id"] for t in listed] == [got["id"]]


@pytest.mark.parametrize("name", ["\u202eevil\u202c", "\ufeffBOM", " ", "a\u200bb", "line\nbreak"])
def test_invisible_and_control_characters_in_new_names_are_400(client, name):
    response = client.post("/api/prompt-templates", json={**TEMPLATE, "name": name, "body": "b"})
    assert_error(response, 400)
    assert response.json()["error"] == "invalid_name"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"org_id": "a", "workspace_id": "w", "name": "\\u0000", "body": "b"}',  # NUL
        b'{"org_id": "a", "workspace_id": "w", "name": "n", "body": "b\\u0000"}',
        b'{"org_id": "a", "workspace_id": "w", "name": "\\ud800", "body": "b"}',  # lone surrogate
        b'{"org_id": "a", "workspace_id": "w", "name": "\xff\xfe", "body": "b"}',  # not UTF-8
        b'{"org_id": "a", "workspace_id": "w", "name": "n", "body": "b", "body": 5}',  # duplicate key
        b"\xef\xbb\xbf{}",  # BOM then JSON
    ],
)
def test_bad_encodings_and_nuls_in_template_fields_are_400(server, client, raw):
    before = count_rows(server, "prompt_templates")
    assert_error(client.post("/api/prompt-templates", content=raw, headers=JSON), 400)
    assert count_rows(server, "prompt_templates") == before


@pytest.mark.parametrize(
    "variables",
    [
        '{"who": "\\u0000"}',
        '{"who\\u0000": "x", "who": "y"}',
        '{"who": "\\udfff"}',
        '{"who": 1e400}',
        '{"who": NaN}',
        '{"who": 1' + "0" * 5000 + "}",
        '{"who": "x", "n": ["a\\u0000b"]}',
        '{"who": "x", "n": {"k\\u0000": 1}}',
    ],
)
def test_bad_variable_values_are_400(server, client, template_id, variables):
    before = count_rows(server, "prompt_results")
    assert_error(
        client.post(f"/api/prompt-templates/{template_id}/run", content=run_body(variables), headers=JSON), 400
    )
    assert count_rows(server, "prompt_results") == before


@pytest.mark.parametrize("query", ["org_id=%00", "name=a%00b", "workspace_id=w%00", "cursor=%00"])
def test_nuls_in_query_are_400(client, query):
    assert_error(client.get(f"/api/prompt-templates?{query}"), 400)


def test_undecodable_query_bytes_are_harmless(client):
    """Percent-encoded bytes that are not UTF-8 decode to U+FFFD: a filter that matches nothing, not an error."""
    response = client.get("/api/prompt-templates?workspace_id=%ff%fe")
    assert response.status_code == 200 and response.json()["items"] == []


# -- ids, limits, cursors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_id", ["0", "-1", "-9223372036854775808", str(2**63 - 1), str(2**63), str(2**64), "9" * 60]
)
@pytest.mark.parametrize(
    "path",
    [
        "/api/prompt-templates/{}",
        "/api/prompt-results/{}",
        "/api/prompt-templates/{}/versions",
        "/api/prompt-templates/{}/results",
    ],
)
def test_absurd_ids_are_404(client, path, raw_id):
    assert_error(client.get(path.format(raw_id)), 404)


@pytest.mark.parametrize("raw_id", ["１", "٣", "+1", "1_000", "%201", "0x1"])
def test_ids_that_are_not_ascii_digits_are_404(client, template_id, raw_id):
    for path in ("/api/prompt-templates/{}", "/api/prompt-results/{}", "/api/prompt-templates/{}/results"):
        assert_error(client.get(path.format(raw_id)), 404)


def test_head_through_the_server_is_get_without_a_body(client, template_id):
    """uvicorn checks Content-Length against the bytes sent; a HEAD must keep the GET's length and send none."""
    for path in (f"/api/prompt-templates/{template_id}", "/healthz", "/api/prompt-templates?limit=1"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200
        assert head.content == b"" and head.headers["content-length"] == str(len(get.content))


@pytest.mark.parametrize("raw_id", ["-1", str(2**64)])
def test_absurd_ids_in_writes_are_404_and_write_nothing(server, client, raw_id):
    before = count_rows(server, "prompt_versions") + count_rows(server, "prompt_results")
    assert_error(
        client.post(f"/api/prompt-templates/{raw_id}/ensure-version", json={"provider": "openai", "model_id": "m"}), 404
    )
    assert_error(
        client.post(
            f"/api/prompt-templates/{raw_id}/run", json={"provider": "openai", "model_id": "m", "variables": {}}
        ),
        404,
    )
    assert count_rows(server, "prompt_versions") + count_rows(server, "prompt_results") == before


@pytest.mark.parametrize("limit", ["-1", "0", "201", str(2**63), str(2**70), "1e3", "1.5", "0x10", "", "NaN"])
def test_absurd_limits_are_400(client, template_id, limit):
    assert_error(client.get(f"/api/prompt-templates?limit={limit}"), 400)
    assert_error(client.get(f"/api/prompt-templates/{template_id}/results?limit={limit}"), 400)


def _b64(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "%%%",
        _b64(b"id:-5"),
        _b64(b"id:0"),
        _b64(b"id:" + str(2**63).encode()),
        _b64(b"id:1e3"),
        _b64(b"id:"),
        _b64(b"\xff\xfe"),
        _b64(b"id:1; DROP TABLE prompt_templates"),
        "A" * 199,
        "😀",
        _b64(os.urandom(48)),
        "0",
        "-5",
        "007",
        "1e3",
        "１",
        "9" * 19,
    ],
)
def test_forged_cursors_are_400(client, template_id, cursor):
    for path in ("/api/prompt-templates", f"/api/prompt-templates/{template_id}/results"):
        assert_error(client.get(path, params={"cursor": cursor}), 400)
    assert client.get("/api/prompt-templates", params={"limit": 1}).status_code == 200  # the table is still there


def test_over_long_query_values_are_400(client):
    assert_error(client.get("/api/prompt-templates", params={"cursor": "A" * 5000}), 400)
    assert_error(client.get("/api/prompt-templates", params={"org_id": "x" * 30_000}), 400)


# -- path traversal ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow", ".", ".."])
def test_new_names_with_path_separators_or_dot_segments_are_400(client, name):
    response = client.post("/api/prompt-templates", json={**TEMPLATE, "name": name, "body": "b"})
    assert_error(response, 400)
    assert response.json()["error"] == "invalid_name"


@pytest.mark.parametrize("name", ["%2e%2e%2f%2e%2e%2f", "..etc..passwd", "file:etc:passwd", "{{ ..x }}"])
def test_path_like_names_are_plain_data(client, tmp_path, name):
    """Names are stored and matched verbatim; nothing treats them as a path (no file is read or created). Tenants
    are not names: `..` and `../w` are plain data there too."""
    response = client.post(
        "/api/prompt-templates",
        json={"org_id": "..", "workspace_id": "../w", "name": name, "body": f"{name} {{{{ who }}}}"},
    )
    assert response.status_code == 201, response.text
    got = client.get(f"/api/prompt-templates/{response.json()['id']}").json()
    assert (got["org_id"], got["workspace_id"], got["name"]) == ("..", "../w", name)
    listed = client.get("/api/prompt-templates", params={"org_id": "..", "workspace_id": "../w", "name": name})
    assert [t["id"] for t in listed.json()["items"]] == [got["id"]]
    run = client.post(
        f"/api/prompt-templates/{got['id']}/run",
        json={"provider": "openai", "model_id": "m", "variables": {"who": "/etc/passwd"}},
    )
    assert run.status_code == 201, run.text
    assert "root:" not in run.text  # the variable was rendered as text, not read as a file


@pytest.mark.parametrize(
    "path",
    [
        "/api/prompt-templates/..%2f..%2fetc%2fpasswd",
        "/api/../../etc/passwd",
        "/schema/..%2f..%2f..%2fetc%2fpasswd",
        "/api/prompt-templates/%2e%2e",
        "/static/../../etc/passwd",
    ],
)
def test_traversal_in_the_url_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404, response.text
    assert "root:" not in response.text
