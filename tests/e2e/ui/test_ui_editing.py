"""Writing prompts in the UI without a script: the editor's buttons add, remove and reorder messages; a save goes
through the API's own schema and services (so the API's errors appear beside their fields and nothing half-made is
stored); a new revision starts from the old one and is saved only after its diff was previewed; a version is pinned
with its bundle. Write keys only, CSRF-protected."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.chat.support import INPUT_SCHEMA, RESPONSE_FORMAT, TOOLS
from tests.e2e.test_auth import bearer, make_key
from tests.e2e.ui.test_ui_pages import TENANT, csrf_token, login

QUERY = "?org_id=o&workspace_id=w"


def fields_of(html: str) -> dict[str, str]:
    """The form's fields as a browser would post them (inputs, selected options, textareas)."""
    out: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        out[name] = value
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        selected = re.search(r'<option value="([^"]*)" selected', body) or re.search(r'<option value="([^"]*)"', body)
        out[name] = selected.group(1) if selected else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        out[name] = unescape(body)
    return {k: unescape(v) for k, v in out.items()}


def unescape(text: str) -> str:
    import html

    return html.unescape(text)


def press(client, path: str, fields: dict[str, str], action: str, **changes: str):
    return client.post(path, data={**fields, **changes, "action": action})


@pytest.fixture(params=["sqlite", "postgresql"])
def open_client(request, make_client):
    return make_client(db_url=request.getfixturevalue("pg_url")) if request.param == "postgresql" else make_client()


def test_create_a_chat_prompt_with_a_tool_through_the_form(open_client) -> None:
    client = open_client
    page = client.get("/ui/new", params=TENANT)
    assert page.status_code == 200 and 'name="m0_role"' in page.text and 'name="m1_content"' in page.text
    fields = fields_of(page.text)
    # Two rows to start (system, user); add one, fill all, move the last up, remove it again, add a placeholder.
    added = press(client, f"/ui/new{QUERY}", fields, "add")
    assert added.status_code == 200 and 'name="m2_content"' in added.text
    fields = {
        **fields_of(added.text),
        "name": "capitals",
        "m0_content": "You are {{ persona }}.",
        "m1_content": "{{ question }}",
        "m2_role": "assistant",
        "m2_content": "scratch",
    }
    moved = press(client, f"/ui/new{QUERY}", fields, "up:2")
    assert fields_of(moved.text)["m1_content"] == "scratch" and fields_of(moved.text)["m2_content"] == "{{ question }}"
    removed = press(client, f"/ui/new{QUERY}", fields_of(moved.text), "remove:1")
    with_history = press(client, f"/ui/new{QUERY}", fields_of(removed.text), "add-placeholder")
    fields = fields_of(with_history.text)
    assert [fields[f"m{i}_kind"] for i in range(3)] == ["message", "message", "placeholder"]
    fields = {
        **fields,
        "input_schema": json.dumps(INPUT_SCHEMA),
        "provider": "openai",
        "model_id": "gpt-4o",
        "tools": json.dumps(TOOLS),
        "tool_choice": "auto",
        "response_name": "answer",
        "response_schema": json.dumps(RESPONSE_FORMAT["json_schema"]["schema"]),
    }
    saved = press(client, f"/ui/new{QUERY}", fields, "save")
    assert saved.status_code == 200 and saved.url.path == "/ui/prompts/capitals", saved.text[:500]
    assert "lookup_capital" in saved.text  # the pinned version's tool on the prompt page

    stored = client.get("/api/prompt-templates", params={**TENANT, "name": "capitals"}).json()["items"]
    assert len(stored) == 1 and stored[0]["type"] == "chat"
    assert stored[0]["messages"] == [
        {"role": "system", "content": "You are {{ persona }}."},
        {"role": "user", "content": "{{ question }}"},
        {"type": "placeholder", "name": "history"},
    ]
    assert stored[0]["input_schema"] == INPUT_SCHEMA
    version = client.get(f"/api/prompt-templates/{stored[0]['id']}/versions").json()["items"][0]
    assert version["tools"][0]["function"]["name"] == "lookup_capital" and version["tool_choice"] == "auto"
    assert version["response_format"] == RESPONSE_FORMAT


def test_the_apis_errors_appear_beside_their_fields_and_nothing_is_stored(open_client) -> None:
    client = open_client
    fields = fields_of(client.get("/ui/new", params=TENANT).text)
    bad = {
        **fields,
        "name": "broken",
        "m0_content": "Hi",
        "m1_content": "",  # the API: a message needs non-empty content
        "input_schema": "{not json",
        "model_id": "gpt-4o",
        "tools": json.dumps([{"type": "function", "function": {"name": "bad name!"}}]),
    }
    response = press(client, f"/ui/new{QUERY}", bad, "save")
    assert response.status_code == 422
    errors = dict(re.findall(r'<p class="field-error" role="alert" id="error-([^"]+)">([^<]*)</p>', response.text))
    assert "not valid JSON" in errors["input_schema"]
    assert "tools[0].function.name" in errors["tools"]
    fixed_schema = press(client, f"/ui/new{QUERY}", {**bad, "input_schema": ""}, "save")
    errors = dict(re.findall(r'id="error-([^"]+)">([^<]*)</p>', fixed_schema.text))
    assert "messages[1].content" in errors["m1"] and "non-empty" in errors["m1"]
    assert client.get("/api/prompt-templates", params={**TENANT, "name": "broken"}).json()["items"] == []
    # The form keeps what was typed.
    assert "bad name!" in fixed_schema.text and 'value="broken"' in fixed_schema.text
    too_long = press(client, f"/ui/new{QUERY}", {**bad, "name": "n" * 201, "input_schema": "", "tools": ""}, "save")
    assert too_long.status_code == 422 and 'id="error-name"' in too_long.text


def test_a_new_revision_is_prefilled_previewed_and_then_saved(open_client) -> None:
    client = open_client
    first = client.post(
        "/api/prompt-templates",
        json={"name": "greet", "type": "chat", "messages": [{"role": "user", "content": "Hi {{ who }}"}], **TENANT},
    ).json()
    page = client.get("/ui/prompts/greet/edit", params=TENANT)
    assert page.status_code == 200 and "New revision of greet" in page.text
    fields = fields_of(page.text)
    assert fields["m0_content"] == "Hi {{ who }}" and fields["base_id"] == str(first["id"])

    same = press(client, f"/ui/prompts/greet/edit{QUERY}", fields, "preview")
    assert same.status_code == 422 and "Nothing changed" in same.text
    changed = {**fields, "m0_content": "Hello {{ who }} from {{ team }}"}
    # Saving before a preview shows the preview instead.
    preview = press(client, f"/ui/prompts/greet/edit{QUERY}", changed, "save")
    assert preview.status_code == 200 and 'id="preview"' in preview.text
    assert '<span class="d-add">+Hello {{ who }} from {{ team }}</span>' in preview.text
    assert "Variables added: team" in preview.text and "Save revision" in preview.text
    assert len(client.get("/api/prompt-templates", params={**TENANT, "name": "greet"}).json()["items"]) == 1
    # Changing the text after the preview needs another preview.
    previewed = fields_of(preview.text)
    stale = press(client, f"/ui/prompts/greet/edit{QUERY}", {**previewed, "m0_content": "Other {{ who }}"}, "save")
    assert 'id="preview"' in stale.text and "+Other {{ who }}" in stale.text
    saved = press(client, f"/ui/prompts/greet/edit{QUERY}", previewed, "save")
    assert saved.status_code == 200 and saved.url.path == "/ui/prompts/greet"
    assert saved.history[0].headers["location"].endswith("#revision-2")
    items = client.get("/api/prompt-templates", params={**TENANT, "name": "greet"}).json()["items"]
    assert [t["revision"] for t in items] == [2, 1]
    assert items[0]["messages"] == [{"role": "user", "content": "Hello {{ who }} from {{ team }}"}]


def test_pin_a_version_with_its_bundle(open_client) -> None:
    client = open_client
    template = client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}", **TENANT}).json()
    page = client.get("/ui/prompts/greet/pin", params=TENANT)
    assert page.status_code == 200
    fields = {**fields_of(page.text), "model_id": "gpt-4o", "params": '{"temperature": 5}'}
    refused = client.post(f"/ui/prompts/greet/pin{QUERY}", data=fields)
    assert refused.status_code == 422 and 'id="error-params"' in refused.text
    fields["params"] = '{"temperature": 0.3}'
    fields["tools"] = json.dumps(TOOLS)
    fields["provider"] = "anthropic"
    pinned = client.post(f"/ui/prompts/greet/pin{QUERY}", data=fields)
    assert pinned.status_code == 200 and pinned.url.path == "/ui/prompts/greet", pinned.text[:400]
    versions = client.get(f"/api/prompt-templates/{template['id']}/versions").json()["items"]
    assert len(versions) == 1 and versions[0]["provider"] == "anthropic" and versions[0]["params"]["temperature"] == 0.3
    assert versions[0]["tools"][0]["function"]["name"] == "lookup_capital"
    unknown = client.post(f"/ui/prompts/greet/pin{QUERY}", data={**fields, "provider": "nope"})
    assert unknown.status_code == 422 and 'id="error-provider"' in unknown.text


@pytest.fixture
def secured(make_client, sqlite_url):
    client = make_client(auth="required")
    keys = {role: make_key(sqlite_url, "org-a", "ws-a", role) for role in ("read", "write")}
    client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}"}, headers=bearer(keys["write"]))
    return client, keys


def test_a_read_key_cannot_open_or_post_the_editor(secured) -> None:
    client, keys = secured
    login(client, keys["read"])
    for path in ("/ui/new", "/ui/prompts/greet/edit", "/ui/prompts/greet/pin"):
        response = client.get(path)
        assert response.status_code == 403 and "read" in response.text, path
    token = csrf_token(client.get("/ui").text)
    posted = client.post("/ui/new", data={"name": "x", "type": "text", "body": "x", "_csrf_token": token})
    assert posted.status_code == 403
    assert "New prompt" not in client.get("/ui").text  # no button a read key cannot use
    prompt_page = client.get("/ui/prompts/greet").text
    assert "New revision" not in prompt_page and "Pin a version" not in prompt_page


def test_the_editor_is_csrf_protected_and_works_with_a_write_key(secured) -> None:
    client, keys = secured
    login(client, keys["write"])
    assert 'href="/ui/new"' in client.get("/ui").text
    prompt_page = client.get("/ui/prompts/greet").text
    assert 'href="/ui/prompts/greet/edit"' in prompt_page and 'href="/ui/prompts/greet/pin"' in prompt_page
    page = client.get("/ui/new")
    fields = {**fields_of(page.text), "name": "made-in-ui", "type": "text", "body": "Hello {{ who }}"}
    forged = client.post("/ui/new", data={**{k: v for k, v in fields.items() if k != "_csrf_token"}, "action": "save"})
    assert forged.status_code == 403
    text = press(
        client,
        "/ui/new",
        fields_of(press(client, "/ui/new", fields, "type:text").text),
        "save",
        body="Hey {{ who }}",
        name="made-in-ui",
    )
    assert text.status_code == 200 and text.url.path == "/ui/prompts/made-in-ui", text.text[:300]
    stored = client.get("/api/prompt-templates", params={"name": "made-in-ui"}, headers=bearer(keys["write"])).json()
    assert stored["items"][0]["body"] == "Hey {{ who }}" and stored["items"][0]["org_id"] == "org-a"


def test_saving_an_existing_content_again_is_refused_on_the_form(open_client) -> None:
    client = open_client
    client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}", **TENANT})
    fields = fields_of(
        press(client, f"/ui/new{QUERY}", fields_of(client.get("/ui/new", params=TENANT).text), "type:text").text
    )
    again = press(client, f"/ui/new{QUERY}", fields, "save", name="greet", body="Hi {{ who }}")
    assert again.status_code == 422 and 'id="error-form"' in again.text and "already exists" in again.text
    assert len(client.get("/api/prompt-templates", params={**TENANT, "name": "greet"}).json()["items"]) == 1


def test_without_auth_and_a_workspace_the_editor_asks_for_one_first(open_client) -> None:
    typed = open_client.get("/ui/new", follow_redirects=False)
    assert typed.status_code == 303 and typed.headers["location"] == "/ui/workspace?next=%2Fui%2Fnew"
