"""The UI's sessions and cross-site protection: server-side sessions that logout ends, form tokens bound to the
session, Origin / Sec-Fetch-Site refused when cross-site, Secure cookies over HTTPS, and the login rate limit."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.e2e.test_auth import bearer, make_key
from tests.e2e.ui.test_ui_pages import csrf_token, ensure, login

EVIL = "https://evil.example"


@pytest.fixture
def labelled(make_client, sqlite_url):
    """Auth required; tenant b has a prompt with two versions, `staging` on the first; a write key for b."""
    client = make_client(auth="required")
    key = make_key(sqlite_url, "org-b", "ws-b", "write")
    first = client.post("/api/prompt-templates", json={"name": "p", "body": "one"}, headers=bearer(key)).json()
    second = client.post("/api/prompt-templates", json={"name": "p", "body": "two"}, headers=bearer(key)).json()
    old, new = ensure(client, first["id"], bearer(key))["id"], ensure(client, second["id"], bearer(key))["id"]
    moved = client.put("/api/prompts/p/labels/staging", json={"version_id": old}, headers=bearer(key))
    assert moved.status_code == 200, moved.text
    return client, key, old, new


def staging(client, key) -> int:
    return client.get("/api/prompts/p", params={"label": "staging"}, headers=bearer(key)).json()["version"]["id"]


def test_an_attackers_own_token_with_the_victims_session_is_refused(labelled):
    victim, key, old, new = labelled
    assert login(victim, key).status_code == 303
    session = victim.cookies.get("prompter_session")
    # The attacker fetches the login form with a browser of their own: a pre-login cookie and its valid token.
    with TestClient(victim.app) as attacker:
        form = attacker.get("/ui/login")
        attacker_token = csrf_token(form.text)
        attacker_cookies = dict(attacker.cookies.items())
    assert attacker_cookies, "the login form sets a pre-login cookie"
    with TestClient(victim.app, cookies={**attacker_cookies, "prompter_session": session}) as forged:
        for headers in ({"Origin": EVIL}, {}, {"Sec-Fetch-Site": "cross-site"}):
            answer = forged.post(
                "/ui/prompts/p/labels",
                data={"label": "staging", "version_id": new, "_csrf_token": attacker_token},
                headers=headers,
                follow_redirects=False,
            )
            assert answer.status_code == 403, (headers, answer.status_code)
            assert "text/html" in answer.headers["content-type"] and "CSRF" in answer.text
    assert staging(victim, key) == old


def test_a_real_token_from_another_site_is_refused_and_from_this_one_accepted(labelled):
    client, key, old, new = labelled
    login(client, key)
    token = csrf_token(client.get("/ui/prompts/p").text)
    form = {"label": "staging", "version_id": new, "_csrf_token": token}
    for headers in ({"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "http://x"}):
        refused = client.post("/ui/prompts/p/labels", data=form, headers=headers, follow_redirects=False)
        assert refused.status_code == 403 and "CSRF" in refused.text, headers
    assert staging(client, key) == old
    same = {"Origin": "http://testserver.local", "Sec-Fetch-Site": "same-origin"}
    accepted = client.post("/ui/prompts/p/labels", data=form, headers=same, follow_redirects=False)
    assert accepted.status_code == 303, accepted.text
    assert staging(client, key) == new


def test_the_cookie_is_not_the_key_and_logout_ends_the_session_everywhere(labelled, make_client):
    client, key, _, _ = labelled
    response = login(client, key)
    session = client.cookies.get("prompter_session")
    assert session and key not in response.headers["set-cookie"] and session not in key
    # Another replica (another app on the same database) knows the session, and accepts this replica's form token.
    other = make_client(auth="required")
    with TestClient(other.app, cookies={"prompter_session": session}) as elsewhere:
        page = elsewhere.get("/ui/prompts/p")
        assert page.status_code == 200 and "org-b / ws-b" in page.text
        token_here = csrf_token(client.get("/ui/prompts/p").text)
        assert csrf_token(page.text) == token_here
    out = client.post("/ui/logout", data={"_csrf_token": token_here}, follow_redirects=False)
    assert out.status_code == 303
    # A copy of the old cookie (kept by an attacker, or a browser that ignored the clearing) no longer works.
    with TestClient(other.app, cookies={"prompter_session": session}) as replay:
        again = replay.get("/ui", follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"] == "/ui/login"


def test_logging_in_again_ends_the_browsers_previous_session(labelled, make_client, sqlite_url):
    client, key, _, _ = labelled
    login(client, key)
    first = client.cookies.get("prompter_session")
    login(client, make_key(sqlite_url, "org-b", "ws-b", "read"))
    assert client.cookies.get("prompter_session") != first
    other = make_client(auth="required")
    other.cookies.set("prompter_session", first)
    assert other.get("/ui", follow_redirects=False).headers.get("location") == "/ui/login"


def test_an_expired_session_leads_to_the_login_form(make_client, sqlite_url):
    client = make_client(auth="required", ui_session_ttl_s=0.001)
    key = make_key(sqlite_url, "org-e", "ws-e", "read")
    assert login(client, key).status_code == 303
    assert client.get("/ui", follow_redirects=False).headers.get("location") == "/ui/login"


def test_over_https_every_ui_cookie_is_secure(make_client, sqlite_url):
    plain = make_client(auth="required")
    key = make_key(sqlite_url, "org-t", "ws-t", "read")
    with TestClient(plain.app, base_url="https://testserver.local") as tls:
        form = tls.get("/ui/login")
        assert "prompter_form=" in form.headers["set-cookie"] and "Secure" in form.headers["set-cookie"]
        response = tls.post("/ui/login", data={"api_key": key, "_csrf_token": csrf_token(form.text)})
        assert response.status_code == 200
        session_cookie = response.history[0].headers["set-cookie"]
        assert "prompter_session=" in session_cookie and "Secure" in session_cookie


def test_failed_logins_are_limited_per_client_and_per_key_id(make_client, sqlite_url):
    client = make_client(auth="required", ui_login_max_failures=3, ui_login_window_s=600)
    key = make_key(sqlite_url, "org-l", "ws-l", "write")
    wrong = key[:-4] + "AAAA"
    for _ in range(3):
        assert login(client, wrong).status_code == 401
    limited = login(client, wrong)
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 600
    assert "Too many failed logins" in limited.text and "text/html" in limited.headers["content-type"]
    # The right key from the same client waits too: the brake is on the client (and on the key id, see
    # tests/unit/ui/test_login_limits.py), not on wrong keys only.
    assert login(client, key).status_code == 429


def test_sessions_on_postgresql_open_serve_and_end(make_client, pg_url):
    client = make_client(db_url=pg_url, auth="required")
    key = make_key(pg_url, "org-p", "ws-p", "write")
    assert login(client, key).status_code == 303
    other = make_client(db_url=pg_url, auth="required")  # another replica (one event loop per app on PostgreSQL)
    other.cookies.set("prompter_session", client.cookies.get("prompter_session"))
    page = other.get("/ui")
    assert page.status_code == 200 and "org-p / ws-p" in page.text
    assert client.post("/ui/logout", data={"_csrf_token": csrf_token(page.text)}).status_code == 200
    assert other.get("/ui", follow_redirects=False).headers.get("location") == "/ui/login"
