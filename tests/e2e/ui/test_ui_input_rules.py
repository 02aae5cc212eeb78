"""The UI's paths and form fields follow the API's input rules: a NUL anywhere is 400 (a page), never a 500 (PostgreSQL
cannot store it) and never stored (SQLite could)."""

from __future__ import annotations

import pytest

from tests.e2e.ui.test_ui_pages import TENANT, csrf_token, ensure

QUERY = "?org_id=o&workspace_id=w"


@pytest.fixture(params=["sqlite", "postgresql"])
def ui(request, make_client):
    client = make_client(db_url=request.getfixturevalue("pg_url")) if request.param == "postgresql" else make_client()
    template = client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}", **TENANT}).json()
    version = ensure(client, template["id"])["id"]
    token = csrf_token(client.get("/ui/prompts/greet", params=TENANT).text)
    return client, version, token


def test_a_nul_in_a_ui_path_is_a_400_page(ui) -> None:
    client, version, token = ui
    assert client.get(f"/ui/prompts/a%00b{QUERY}").status_code == 400
    move = {"label": "staging", "version_id": version, "_csrf_token": token}
    assert client.post(f"/ui/prompts/a%00b/labels{QUERY}", data=move).status_code == 400
    rollback = client.post(f"/ui/prompts/greet/labels/sta%00ging/rollback{QUERY}", data={"_csrf_token": token})
    assert rollback.status_code == 400
    assert (
        client.post(f"/ui/prompts/a%00b/labels/staging/rollback{QUERY}", data={"_csrf_token": token}).status_code == 400
    )


def test_a_nul_in_a_form_field_is_a_400_page_and_nothing_is_stored(ui) -> None:
    client, version, token = ui
    for field, value in (("reason", "a\x00b"), ("label", "sta\x00ging")):
        form = {"label": "staging", "version_id": version, "reason": "ok", "_csrf_token": token, field: value}
        response = client.post(f"/ui/prompts/greet/labels{QUERY}", data=form)
        assert response.status_code == 400, (field, response.status_code, response.text[:300])
        assert "NUL" in response.text or "invalid" in response.text.lower()
    rollback = client.post(
        f"/ui/prompts/greet/labels/staging/rollback{QUERY}", data={"reason": "a\x00b", "_csrf_token": token}
    )
    assert rollback.status_code == 400
    history = client.get("/api/prompts/greet/labels/staging/history", params=TENANT)
    assert history.status_code == 404 or history.json()["items"] == []
