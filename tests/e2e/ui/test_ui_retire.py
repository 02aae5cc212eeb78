"""Retiring prompts in the UI through Litestar's TestClient (auth off), on SQLite and PostgreSQL: the archive buttons
for a version, a revision and the prompt, the list's include-archived toggle, a refused archive as the UI's error page,
and deleting with the confirmation page. (The real-browser walk is tests/e2e/ui/test_ui_retire_browser.py.)"""

from __future__ import annotations

import pytest

from tests.e2e.ui.test_ui_pages import TENANT, csrf_token

QUERY = "?org_id=o&workspace_id=w"


@pytest.fixture(params=["sqlite", "postgresql"])
def ui(request, make_client):
    client = make_client(db_url=request.getfixturevalue("pg_url")) if request.param == "postgresql" else make_client()
    template = client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}", **TENANT}).json()
    client.post("/api/prompt-templates", json={"name": "other", "body": "Bye {{ who }}", **TENANT})
    ids = []
    for temperature in (0.1, 0.9):
        body = {"provider": "openai", "model_id": "gpt-4o", "params": {"temperature": temperature}}
        version = client.post(f"/api/prompt-templates/{template['id']}/ensure-version", json=body)
        assert version.status_code == 201, version.text
        ids.append(version.json()["id"])
    return client, template["id"], ids


def test_archive_and_unarchive_a_version_and_a_revision_from_the_prompt_page(ui):
    client, template_id, (v1, v2) = ui
    page = client.get("/ui/prompts/greet", params=TENANT)
    assert f'action="/ui/versions/{v1}/archive{QUERY.replace("&", "&amp;")}"' in page.text
    token = csrf_token(page.text)

    archived = client.post(
        f"/ui/versions/{v1}/archive{QUERY}", data={"_csrf_token": token, "back": "greet"}, follow_redirects=False
    )
    assert archived.status_code == 303 and archived.headers["location"] == f"/ui/prompts/greet{QUERY}#version-{v1}"
    page = client.get("/ui/prompts/greet", params=TENANT).text
    assert f'id="version-{v1}"' not in page and f'id="version-{v2}"' in page  # hidden by default
    shown = client.get("/ui/prompts/greet", params={**TENANT, "include_archived": "true"}).text
    assert f'id="version-{v1}"' in shown and 'class="badge archived"' in shown
    assert f'<option value="{v1}"' not in shown  # never offered as a label target

    forged = client.post(f"/ui/versions/{v1}/unarchive{QUERY}", data={"back": "greet"}, follow_redirects=False)
    assert forged.status_code == 403  # no CSRF token, no change
    restored = client.post(f"/ui/versions/{v1}/unarchive{QUERY}", data={"_csrf_token": token, "back": "greet"})
    assert restored.status_code == 200 and f'id="version-{v1}"' in restored.text

    revision = client.post(f"/ui/revisions/{template_id}/archive{QUERY}", data={"_csrf_token": token})
    assert revision.status_code == 200  # every revision archived: the page shows them rather than nothing
    assert "Unarchive" in revision.text
    assert client.post(f"/ui/revisions/{template_id}/unarchive{QUERY}", data={"_csrf_token": token}).status_code == 200


def test_archiving_what_a_label_points_at_answers_the_ui_error_page(ui):
    client, _, (v1, _) = ui
    client.put("/api/prompts/greet/labels/staging", json={"version_id": v1, **TENANT})
    page = client.get("/ui/prompts/greet", params=TENANT).text
    assert "labelled: staging" in page and f'name="archive-versions" value="{v1}"' not in page
    token = csrf_token(page)
    refused = client.post(f"/ui/versions/{v1}/archive{QUERY}", data={"_csrf_token": token, "back": "greet"})
    assert refused.status_code == 409 and "text/html" in refused.headers["content-type"]
    assert "&#39;staging&#39;" in refused.text and "Move or delete those labels first" in refused.text


def test_the_prompt_list_hides_archived_prompts_unless_asked(ui):
    client, _, _ = ui
    token = csrf_token(client.get("/ui/prompts/greet", params=TENANT).text)
    archived = client.post(f"/ui/prompts/greet/archive{QUERY}", data={"_csrf_token": token}, follow_redirects=False)
    assert archived.status_code == 303
    listing = client.get("/ui").text
    assert 'href="/ui/prompts/other' in listing and 'href="/ui/prompts/greet' not in listing
    assert 'name="include_archived"' in listing
    everything = client.get("/ui", params={"include_archived": "true"}).text
    assert 'href="/ui/prompts/greet' in everything and 'class="badge archived"' in everything
    assert "Unarchive prompt" in client.get("/ui/prompts/greet", params=TENANT).text
    client.post(f"/ui/prompts/greet/unarchive{QUERY}", data={"_csrf_token": token})
    assert 'href="/ui/prompts/greet' in client.get("/ui").text


def test_deleting_asks_for_the_name_on_a_confirmation_page(ui):
    client, template_id, _ = ui
    page = client.get("/ui/prompts/greet", params=TENANT).text
    assert f'href="/ui/prompts/greet/delete{QUERY.replace("&", "&amp;")}"' in page
    confirm = client.get("/ui/prompts/greet/delete", params=TENANT)
    assert confirm.status_code == 200 and "Type <code>greet</code> to confirm" in confirm.text
    token = csrf_token(confirm.text)

    wrong = client.post(f"/ui/prompts/greet/delete{QUERY}", data={"_csrf_token": token, "confirm": "gret"})
    assert wrong.status_code == 422 and "?confirm=greet" in wrong.text
    assert client.get(f"/api/prompt-templates/{template_id}").status_code == 200

    deleted = client.post(
        f"/ui/prompts/greet/delete{QUERY}",
        data={"_csrf_token": token, "confirm": "greet", "reason": "old"},
        follow_redirects=False,
    )
    assert deleted.status_code == 303 and deleted.headers["location"].startswith("/ui?")
    landing = client.get(deleted.headers["location"]).text
    assert "Deleted prompt “greet”" in landing and 'href="/ui/prompts/greet' not in landing
    assert client.get(f"/api/prompt-templates/{template_id}").status_code == 404
    assert client.get("/ui/prompts/greet/delete", params=TENANT).status_code == 404
