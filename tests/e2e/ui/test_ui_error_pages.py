"""Every answer under /ui is a page of the UI with its security headers - a path that matches no route, a method a
route does not take, a malformed form - never the API's JSON; and the login form says what to do about a bad key."""

from __future__ import annotations

import re

import pytest

from service.ui.security import CONTENT_SECURITY_POLICY
from tests.e2e.test_auth import make_key
from tests.e2e.ui.test_ui_pages import TENANT, csrf_token, ensure, login

QUERY = "?org_id=o&workspace_id=w"


def assert_ui_page(response, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    assert "text/html" in response.headers["content-type"], response.headers["content-type"]
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    assert "<h1>" in response.text and '"error"' not in response.text


def test_an_unmatched_ui_path_is_the_uis_404_page(make_client) -> None:
    client = make_client()
    for path in ("/ui/nothing-here", "/ui/prompts/greet/no/such/page", "/ui/results/abc"):
        assert_ui_page(client.get(path), 404)
    api = client.get("/api/nothing-here")  # the API keeps answering JSON
    assert api.status_code == 404 and api.json()["error"] == "not_found"


def test_a_method_a_ui_route_does_not_take_is_a_405_page(make_client) -> None:
    client = make_client()
    response = client.delete("/ui/results")
    assert_ui_page(response, 405)
    assert "GET" in response.headers["allow"]
    assert "Method Not Allowed" in response.text or "not allowed" in response.text.lower()


def test_a_malformed_form_is_a_400_page(make_client) -> None:
    client = make_client()
    template = client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}", **TENANT}).json()
    ensure(client, template["id"])
    token = csrf_token(client.get("/ui/prompts/greet", params=TENANT).text)
    response = client.post(
        f"/ui/prompts/greet/labels{QUERY}",
        data={"label": "staging", "version_id": "not-a-number", "_csrf_token": token},
    )
    assert_ui_page(response, 400)
    assert "version_id" in response.text


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Paste"),
        ("not-a-key", "Paste"),
        ("WRONG-SECRET", "not valid"),
    ],
)
def test_a_bad_key_on_the_login_form_says_what_to_do(make_client, sqlite_url, typed: str, says: str) -> None:
    client = make_client(auth="required")
    key = make_key(sqlite_url, "org-a", "ws-a", "read")
    response = login(client, key[:-4] + "AAAA" if typed == "WRONG-SECRET" else typed)
    assert response.status_code == 401
    alert = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    assert alert, response.text
    assert "Authorization" not in alert.group(1) and "header" not in alert.group(1)
    assert says in alert.group(1) and "API key" in alert.group(1)
