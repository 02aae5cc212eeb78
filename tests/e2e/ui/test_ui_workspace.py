"""With PROMPTER_AUTH=off a typed UI address names no workspace: the browser picks one once (a cookie) and every page
defaults to it; without a pick a page that needs a workspace leads to the picker and back."""

from __future__ import annotations

import pytest

from tests.e2e.test_auth import make_key
from tests.e2e.ui.test_ui_pages import TENANT, csrf_token, login


@pytest.fixture(params=["sqlite", "postgresql"])
def two_workspaces(request, make_client):
    client = make_client(db_url=request.getfixturevalue("pg_url")) if request.param == "postgresql" else make_client()
    for org_id, workspace_id, body in (("o", "w", "Hi {{ who }} from w"), ("o", "x", "Hi {{ who }} from x")):
        created = client.post(
            "/api/prompt-templates",
            json={"name": "greet", "body": body, "org_id": org_id, "workspace_id": workspace_id},
        )
        assert created.status_code == 201, created.text
    return client


def pick(client, org_id: str, workspace_id: str, next_path: str):
    form = client.get("/ui/workspace", params={"next": next_path})
    assert form.status_code == 200 and "o / w" in form.text and "o / x" in form.text
    return client.post(
        "/ui/workspace",
        data={"org_id": org_id, "workspace_id": workspace_id, "next": next_path, "_csrf_token": csrf_token(form.text)},
        follow_redirects=False,
    )


def test_a_typed_prompt_address_without_a_workspace_leads_to_the_picker_and_back(two_workspaces) -> None:
    client = two_workspaces
    typed = client.get("/ui/prompts/greet", follow_redirects=False)
    assert typed.status_code == 303, typed.text[:300]  # was a 422 page: org_id/workspace_id missing
    assert typed.headers["location"] == "/ui/workspace?next=%2Fui%2Fprompts%2Fgreet"
    chosen = pick(client, "o", "x", "/ui/prompts/greet")
    assert chosen.status_code == 303 and chosen.headers["location"] == "/ui/prompts/greet"
    cookie = chosen.headers["set-cookie"]
    assert "prompter_workspace=" in cookie and "HttpOnly" in cookie and "Path=/ui" in cookie
    page = client.get("/ui/prompts/greet")
    assert page.status_code == 200 and "from x" in page.text and "from w" not in page.text
    assert "o / x" in page.text  # the header says which workspace typed addresses open in


def test_the_query_still_wins_and_the_list_follows_the_pick(two_workspaces) -> None:
    client = two_workspaces
    pick(client, "o", "x", "/ui")
    assert "from w" in client.get("/ui/prompts/greet", params=TENANT).text
    listing = client.get("/ui").text
    assert "workspace_id=x" in listing and "workspace_id=w" not in listing
    form = client.get("/ui/workspace").text
    cleared = client.post("/ui/workspace", data={"clear": "1", "_csrf_token": csrf_token(form)}, follow_redirects=False)
    assert cleared.status_code == 303 and "Max-Age=0" in cleared.headers["set-cookie"]
    listing = client.get("/ui").text
    assert "workspace_id=x" in listing and "workspace_id=w" in listing


def test_the_picker_refuses_an_empty_workspace_and_a_foreign_next(two_workspaces) -> None:
    client = two_workspaces
    token = csrf_token(client.get("/ui/workspace").text)
    empty = client.post("/ui/workspace", data={"org_id": "o", "workspace_id": " ", "_csrf_token": token})
    assert empty.status_code == 400 and "Fill in both" in empty.text
    away = client.post(
        "/ui/workspace",
        data={"org_id": "o", "workspace_id": "w", "next": "//evil.example/ui", "_csrf_token": token},
        follow_redirects=False,
    )
    assert away.status_code == 303 and away.headers["location"] == "/ui"
    no_token = client.post("/ui/workspace", data={"org_id": "o", "workspace_id": "w"}, follow_redirects=False)
    assert no_token.status_code == 403


def test_a_broken_workspace_cookie_is_ignored(two_workspaces) -> None:
    client = two_workspaces
    client.cookies.set("prompter_workspace", "%%%not-base64", path="/ui")
    assert client.get("/ui/prompts/greet", follow_redirects=False).status_code == 303


def test_with_auth_on_the_key_decides_and_there_is_no_picker(make_client, sqlite_url) -> None:
    client = make_client(auth="required")
    key = make_key(sqlite_url, "org-a", "ws-a", "write")
    login(client, key)
    assert client.get("/ui/workspace", follow_redirects=False).headers["location"] == "/ui"
    assert "every workspace" not in client.get("/ui").text
