"""The playground runs a prompt the way the API does - through a label, a pinned version or a revision with a model -
with a field per variable typed by the input schema; side by side against two versions with the same variables; each
run stored as a result marked `playground`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.chat.support import INPUT_SCHEMA, MESSAGES, RESPONSE_FORMAT, TENANT, TOOLS, VARIABLES
from tests.e2e.test_auth import bearer, make_key
from tests.e2e.ui.test_ui_editing import fields_of
from tests.e2e.ui.test_ui_pages import csrf_token, login

QUERY = "?org_id=acme&workspace_id=chat"


@pytest.fixture(params=["sqlite", "postgresql"])
def capitals(request, make_client):
    client = make_client(db_url=request.getfixturevalue("pg_url")) if request.param == "postgresql" else make_client()
    template = client.post(
        "/api/prompt-templates",
        json={"name": "capitals", "type": "chat", "messages": MESSAGES, "input_schema": INPUT_SCHEMA, **TENANT},
    ).json()
    plain = client.post(
        f"/api/prompt-templates/{template['id']}/ensure-version", json={"provider": "openai", "model_id": "gpt-4o"}
    ).json()
    shaped = client.post(
        f"/api/prompt-templates/{template['id']}/ensure-version",
        json={"provider": "anthropic", "model_id": "claude-3-5-sonnet", "response_format": RESPONSE_FORMAT},
    ).json()
    client.put("/api/prompts/capitals/labels/staging", params=TENANT, json={"version_id": plain["id"]})
    return client, template, plain, shaped


def test_each_variable_gets_a_field_typed_by_the_input_schema(capitals) -> None:
    client, *_ = capitals
    page = client.get("/ui/prompts/capitals/playground", params=TENANT)
    assert page.status_code == 200
    html = page.text
    assert '<input id="var_persona" name="var_persona" type="text"' in html
    assert re.search(r'<select id="var_language" name="var_language">\s*<option value="English"', html)
    assert '<textarea id="var_history" name="var_history"' in html  # the placeholder takes a list of messages
    assert "label staging → #" in html and "version #" in html and "with the model below" in html


def test_run_two_versions_side_by_side_and_store_playground_results(capitals) -> None:
    client, template, plain, shaped = capitals
    page = client.get(
        "/ui/prompts/capitals/playground",
        params={**TENANT, "a": f"version:{plain['id']}", "b": f"version:{shaped['id']}"},
    )
    fields = {
        **fields_of(page.text),
        "var_persona": VARIABLES["persona"],
        "var_language": "English",
        "var_question": VARIABLES["question"],
        "var_history": json.dumps([{"role": "user", "content": "Hi"}]),
        "action": "run",
    }
    ran = client.post(f"/ui/prompts/capitals/playground{QUERY}", data=fields, follow_redirects=False)
    assert ran.status_code == 303, ran.text[:500]
    shown = client.get(ran.headers["location"])
    assert shown.status_code == 200
    html = shown.text
    assert 'id="outcome-a"' in html and 'id="outcome-b"' in html
    assert f"#{plain['id']} · r1 · openai · gpt-4o" in html and "anthropic" in html
    assert "matches the response schema" in html or "breaks the response schema" in html  # side B has a schema
    assert "<code>fp_stub_" in html  # the identity the provider reported
    assert re.search(r"<dt>Latency</dt><dd>[0-9.]+ ms</dd>", html) and re.search(r"<dd>\d+ in · \d+ out</dd>", html)
    ids = [int(i) for i in re.findall(r'class="result-link" href="/ui/results/(\d+)"', html)]
    assert len(ids) == 2
    for rid in ids:
        result = client.get(f"/api/prompt-results/{rid}").json()
        assert result["source"] == "playground"  # the API says so too
        assert result["variables"]["question"] == VARIABLES["question"]
        assert result["variables"]["history"] == [{"role": "user", "content": "Hi"}]
    assert {client.get(f"/api/prompt-results/{rid}").json()["version_id"] for rid in ids} == {plain["id"], shaped["id"]}
    # Marked as playground runs on the result pages and in the results list; the values stay in the form.
    assert "playground run" in client.get(f"/ui/results/{ids[0]}").text
    listing = client.get("/ui/results", params={"prompt": "capitals"}).text
    assert listing.count('class="badge source"') == 2
    assert 'value="a geography tutor"' in html


def test_run_through_a_label_and_a_revision_with_a_tool(capitals) -> None:
    client, template, plain, _ = capitals
    page = client.get(
        "/ui/prompts/capitals/playground", params={**TENANT, "a": "label:staging", "b": f"revision:{template['id']}"}
    )
    fields = {
        **fields_of(page.text),
        "var_persona": "p",
        "var_language": "French",
        "var_question": "Capital of Peru?",
        "b_model_id": "gpt-4o-mini",
        "b_tools": json.dumps(TOOLS),
        "b_tool_choice": json.dumps({"type": "function", "function": {"name": "lookup_capital"}}),
        "action": "run",
    }
    ran = client.post(f"/ui/prompts/capitals/playground{QUERY}", data=fields)
    assert ran.status_code == 200, ran.text[:500]
    assert "label staging →" in ran.text and "Tool calls" in ran.text and "<code>lookup_capital</code>" in ran.text
    ids = [int(i) for i in re.findall(r'class="result-link" href="/ui/results/(\d+)"', ran.text)]
    through_label, with_tool = (client.get(f"/api/prompt-results/{rid}").json() for rid in ids)
    assert through_label["label"] == "staging" and through_label["version_id"] == plain["id"]
    api_run = client.post(
        "/api/prompts/capitals/run", params={**TENANT, "label": "staging"}, json={"variables": VARIABLES}
    )
    assert api_run.status_code == 201 and api_run.json()["source"] == "api"
    assert with_tool["tool_calls"][0]["name"] == "lookup_capital" and with_tool["model_id"] == "gpt-4o-mini"


def test_bad_variables_are_shown_beside_their_fields_and_nothing_runs(capitals) -> None:
    client, *_ = capitals
    page = client.get("/ui/prompts/capitals/playground", params=TENANT)
    fields = {
        **fields_of(page.text),
        "var_persona": "p",
        "var_language": "English",
        "var_question": "ab",
        "var_history": "[not json",
        "action": "run",
    }
    refused = client.post(f"/ui/prompts/capitals/playground{QUERY}", data=fields)
    assert refused.status_code == 422 and 'id="error-var_history"' in refused.text
    refused = client.post(f"/ui/prompts/capitals/playground{QUERY}", data={**fields, "var_history": ""})
    assert refused.status_code == 422 and 'id="error-var_question"' in refused.text  # minLength 3
    assert client.get("/ui/results", params={"prompt": "capitals"}).text.count('class="badge source"') == 0


def test_a_read_key_sees_the_playground_but_cannot_run(make_client, sqlite_url) -> None:
    client = make_client(auth="required")
    keys = {role: make_key(sqlite_url, "org-a", "ws-a", role) for role in ("read", "write")}
    tid = client.post(
        "/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}"}, headers=bearer(keys["write"])
    ).json()["id"]
    login(client, keys["read"])
    page = client.get("/ui/prompts/greet/playground")
    assert page.status_code == 200 and "runs need a <code>write</code> key" in page.text
    refused = client.post(
        "/ui/prompts/greet/playground",
        data={
            "a": f"revision:{tid}",
            "a_provider": "openai",
            "a_model_id": "m",
            "var_who": "x",
            "action": "run",
            "_csrf_token": csrf_token(page.text),
        },
    )
    assert refused.status_code == 403
    login(client, keys["write"])
    page = client.get("/ui/prompts/greet/playground")
    ran = client.post("/ui/prompts/greet/playground", data={**fields_of(page.text), "var_who": "Ada", "action": "run"})
    assert (
        ran.status_code == 200
        and "Hi Ada" in client.get(re.search(r'href="(/ui/results/\d+)"', ran.text).group(1)).text
    )


def test_without_auth_a_picked_workspace_is_enough_for_the_playground(capitals) -> None:
    client, template, plain, _ = capitals
    form = client.get("/ui/workspace").text
    client.post(
        "/ui/workspace",
        data={"org_id": "acme", "workspace_id": "chat", "next": "/ui", "_csrf_token": csrf_token(form)},
    )
    page = client.get("/ui/prompts/capitals/playground", params={"a": f"version:{plain['id']}"})  # no tenant in the URL
    assert page.status_code == 200
    fields = {**fields_of(page.text), "var_persona": "p", "var_language": "English", "var_question": "Capital?"}
    ran = client.post("/ui/prompts/capitals/playground", data={**fields, "action": "run"}, follow_redirects=False)
    assert ran.status_code == 303 and "org_id=acme&workspace_id=chat" in ran.headers["location"]
    assert 'id="outcome-a"' in client.get(ran.headers["location"]).text
