"""The UI through Litestar's TestClient: pages, escaping, tenancy, login cookie, CSRF, CSP and metrics.
(The real-browser walk is tests/e2e/ui/test_ui_browser.py.)"""

from __future__ import annotations

import re

import pytest

from service.ui.security import CONTENT_SECURITY_POLICY
from tests.e2e.test_auth import bearer, make_key

XSS = "Hi {{ who }} <script>alert(1)</script>"
TENANT = {"org_id": "o", "workspace_id": "w"}
RUN = {"provider": "openai", "model_id": "gpt-4o", "variables": {"who": "<img src=x onerror=alert(2)>"}}


def csrf_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def open_ui(request, make_client):
    """Auth off: one prompt with two revisions (the second with an XSS body), a version and a result; on SQLite and
    on PostgreSQL (the list and window queries are the UI's own SQL)."""
    client = make_client(db_url=request.getfixturevalue("pg_url")) if request.param == "postgresql" else make_client()
    client.post("/api/prompt-templates", json={"name": "greet", "body": "Hi {{ who }}\nBye", **TENANT})
    second = client.post("/api/prompt-templates", json={"name": "greet", "body": XSS + "\nBye", **TENANT}).json()
    result = client.post(f"/api/prompt-templates/{second['id']}/run", json=RUN)
    assert result.status_code == 201, result.text
    return client, second["id"], result.json()["id"]


def test_list_detail_results_and_result_pages_render(open_ui):
    client, tid, rid = open_ui
    listing = client.get("/ui")
    assert listing.status_code == 200 and "text/html" in listing.headers["content-type"]
    assert 'href="/ui/prompts/greet?org_id=o&amp;workspace_id=w"' in listing.text and "r2" in listing.text
    assert "No prompt name contains" in client.get("/ui?q=zzz").text
    assert "greet" in client.get("/ui?q=RE").text  # case-insensitive substring

    detail = client.get("/ui/prompts/greet", params=TENANT)
    assert detail.status_code == 200
    assert '<span class="d-del">-Hi {{ who }}</span>' in detail.text
    assert '<span class="d-add">+Hi {{ who }} &lt;script&gt;alert(1)&lt;/script&gt;</span>' in detail.text
    assert "openai · gpt-4o" in detail.text and "<svg" in detail.text and "1 in 24 h" in detail.text

    results = client.get("/ui/results", params={"prompt": "greet"})
    assert f'href="/ui/results/{rid}"' in results.text
    assert "No results for" in client.get("/ui/results", params={"prompt": "other"}).text

    page = client.get(f"/ui/results/{rid}")
    assert page.status_code == 200 and "Rendered prompt" in page.text


def test_user_text_is_escaped_everywhere(open_ui):
    client, _, rid = open_ui
    for path in ("/ui/prompts/greet?org_id=o&workspace_id=w", f"/ui/results/{rid}"):
        html = client.get(path).text
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html
        assert "<script" not in html  # the UI itself ships no scripts either


def test_every_ui_response_carries_the_restrictive_headers(open_ui):
    client, _, _ = open_ui
    for path, status in (("/ui", 200), ("/ui/prompts/nope?org_id=o&workspace_id=w", 404), ("/ui/results/999", 404)):
        response = client.get(path)
        assert response.status_code == status
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src" not in CONTENT_SECURITY_POLICY and "default-src 'none'" in CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    assert "text/css" in client.get("/ui/static/ui.css").headers["content-type"]


def test_missing_prompt_and_result_are_404_pages(open_ui):
    client, _, _ = open_ui
    missing = client.get("/ui/prompts/nope", params=TENANT)
    assert missing.status_code == 404 and "<h1>" in missing.text and "nope" in missing.text
    assert client.get("/ui/results/987654").status_code == 404


def test_ui_routes_are_measured_by_route_template_only(open_ui):
    client, _, rid = open_ui
    client.get(f"/ui/results/{rid}")
    client.get("/ui/prompts/greet", params=TENANT)
    metrics = client.get("/metrics").text
    assert 'route="/ui/results/{result_id}"' in metrics and 'route="/ui/prompts/{name}"' in metrics
    assert "greet" not in metrics and f"/ui/results/{rid}" not in metrics


def test_trace_link_uses_the_configured_template(make_client):
    from opentelemetry.sdk.trace import TracerProvider

    client = make_client(
        trace_url="http://localhost:16686/trace/{trace_id}", app_kwargs={"tracer_provider": TracerProvider()}
    )
    tid = client.post("/api/prompt-templates", json={"name": "t", "body": "x", **TENANT}).json()["id"]
    result = client.post(f"/api/prompt-templates/{tid}/run", json={"provider": "openai", "model_id": "m"}).json()
    assert re.fullmatch(r"[0-9a-f]{32}", result["trace_id"])
    html = client.get(f"/ui/results/{result['id']}").text
    assert f'href="http://localhost:16686/trace/{result["trace_id"]}"' in html


def test_a_trace_url_without_placeholder_stops_startup():
    from service.settings import Settings

    with pytest.raises(ValueError, match="PROMPTER_TRACE_URL"):
        Settings.from_env({"PROMPTER_TRACE_URL": "http://jaeger/trace/"})
    with pytest.raises(ValueError, match="PROMPTER_TRACE_URL"):
        Settings.from_env({"PROMPTER_TRACE_URL": "javascript:alert('{trace_id}')"})


@pytest.fixture
def secured(make_client, sqlite_url):
    """Auth required; tenant b owns a prompt and a result; keys for a and b."""
    client = make_client(auth="required")
    keys = {t: make_key(sqlite_url, f"org-{t}", f"ws-{t}", "write") for t in ("a", "b")}
    keys["b-read"] = make_key(sqlite_url, "org-b", "ws-b", "read")
    tid = client.post("/api/prompt-templates", json={"name": "secret-b", "body": "B"}, headers=bearer(keys["b"]))
    rid = client.post(
        f"/api/prompt-templates/{tid.json()['id']}/run",
        json={"provider": "openai", "model_id": "m"},
        headers=bearer(keys["b"]),
    ).json()["id"]
    return client, keys, rid


def login(client, key: str):
    form = client.get("/ui/login")
    assert form.status_code == 200
    return client.post("/ui/login", data={"api_key": key, "_csrf_token": csrf_token(form.text)}, follow_redirects=False)


def test_pages_need_a_session_and_login_sets_a_strict_httponly_cookie(secured):
    client, keys, _ = secured
    first = client.get("/ui", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/ui/login"
    response = login(client, keys["b"])
    assert response.status_code == 303 and response.headers["location"] == "/ui"
    cookie = response.headers["set-cookie"]
    assert "prompter_session=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert "Path=/ui" in cookie and "Secure" not in cookie  # plain HTTP here; over TLS it is Secure
    page = client.get("/ui")
    assert page.status_code == 200 and "secret-b" in page.text and "org-b / ws-b" in page.text


def test_a_wrong_key_is_refused_on_the_form_and_counted(secured):
    client, keys, _ = secured
    response = login(client, keys["b"][:-4] + "AAAA")
    assert (
        response.status_code == 401
        and "not valid" in response.text
        and "prompter_session" not in response.headers.get("set-cookie", "")
    )
    assert 'reason="unknown"' in client.get("/metrics").text


def test_other_tenants_prompt_and_result_are_404_pages(secured):
    client, keys, rid = secured
    login(client, keys["a"])
    assert "secret-b" not in client.get("/ui").text
    assert client.get("/ui/prompts/secret-b").status_code == 404
    assert client.get(f"/ui/results/{rid}").status_code == 404
    assert "secret-b" not in client.get("/ui/results").text
    # naming another tenant in the query is refused like in the API
    assert client.get("/ui/prompts/secret-b", params={"org_id": "org-b", "workspace_id": "ws-b"}).status_code == 403


def test_logout_clears_the_cookie_and_a_revoked_key_ends_the_session(secured, sqlite_url):
    from tests.e2e.test_auth import revoke

    client, keys, _ = secured
    login(client, keys["b"])
    page = client.get("/ui")
    out = client.post("/ui/logout", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and 'prompter_session=""' in out.headers["set-cookie"]
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/ui", follow_redirects=False).status_code == 303

    login(client, keys["b-read"])
    assert client.get("/ui").status_code == 200
    revoke(sqlite_url, keys["b-read"])
    gone = client.get("/ui", follow_redirects=False)
    assert gone.status_code == 303 and "Max-Age=0" in gone.headers["set-cookie"]


def test_forms_without_a_csrf_token_are_refused_but_the_json_api_is_not_affected(secured):
    client, keys, _ = secured
    no_token = client.post("/ui/login", data={"api_key": keys["b"]}, follow_redirects=False)
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    login(client, keys["b"])
    forged = client.post("/ui/logout", data={"_csrf_token": "x" * 128}, follow_redirects=False)
    assert forged.status_code == 403
    # The API takes no CSRF token, with or without the UI's cookies in the jar.
    api = client.post("/api/prompt-templates", json={"name": "n", "body": "via api"}, headers=bearer(keys["b"]))
    assert api.status_code == 201, api.text
    assert "csrf" not in api.headers.get("set-cookie", "")


def ensure(client, tid: int, headers: dict[str, str] | None = None, **extra) -> dict:
    body = {"provider": "openai", "model_id": "gpt-4o", **extra}
    response = client.post(f"/api/prompt-templates/{tid}/ensure-version", json=body, headers=headers or {})
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_move_and_roll_back_a_label_through_the_forms(open_ui):
    client, tid, _ = open_ui
    first = client.post("/api/prompt-templates", json={"name": "greet", "body": "v3 {{ who }}", **TENANT}).json()
    old, new = ensure(client, tid)["id"], ensure(client, first["id"])["id"]
    page = client.get("/ui/prompts/greet", params=TENANT)
    assert 'class="move"' in page.text and "No label has been moved yet." in page.text
    token = csrf_token(page.text)
    action = "/ui/prompts/greet/labels?org_id=o&workspace_id=w"
    for version in (old, new):
        moved = client.post(
            action, data={"label": "staging", "version_id": version, "reason": "<b>ok</b>", "_csrf_token": token}
        )
        assert moved.status_code == 200 and moved.url.path == "/ui/prompts/greet", moved.text
    assert client.get("/api/prompts/greet", params={**TENANT, "label": "staging"}).json()["version"]["id"] == new
    assert "move: #" in moved.text and "&lt;b&gt;ok&lt;/b&gt;" in moved.text  # history, reason escaped
    assert 'action="/ui/prompts/greet/labels/staging/rollback?org_id=o&amp;workspace_id=w"' in moved.text

    back = client.post("/ui/prompts/greet/labels/staging/rollback?org_id=o&workspace_id=w", data={"_csrf_token": token})
    assert back.status_code == 200 and "rollback: #" in back.text
    assert client.get("/api/prompts/greet", params={**TENANT, "label": "staging"}).json()["version"]["id"] == old
    again = client.post(
        "/ui/prompts/greet/labels/staging/rollback?org_id=o&workspace_id=w", data={"_csrf_token": token}
    )
    assert again.status_code == 409 and "nothing to roll back" in again.text
    listing = client.get("/ui")
    assert f"staging → #{old}" in listing.text


def test_the_list_and_the_prompt_page_show_label_drift(make_client):
    from service.providers import ProviderRegistry

    registry = ProviderRegistry.fakes()
    client = make_client(app_kwargs={"providers": registry})
    tid = client.post("/api/prompt-templates", json={"name": "p", "body": "x", **TENANT}).json()["id"]
    version = ensure(client, tid)["id"]
    token = csrf_token(client.get("/ui/prompts/p", params=TENANT).text)
    client.post(
        "/ui/prompts/p/labels?org_id=o&workspace_id=w",
        data={"label": "production", "version_id": version, "_csrf_token": token},
    )
    assert 'class="badge drift"' not in client.get("/ui").text
    registry.get("openai").set_identity("fp_new_build")
    ensure(client, tid, refresh=True)
    assert 'class="badge drift"' in client.get("/ui").text
    page = client.get("/ui/prompts/p", params=TENANT).text
    assert page.count('class="badge drift"') >= 2 and "fp_new_build" in page


def test_read_key_sees_no_change_buttons_and_a_forged_post_is_refused(secured, sqlite_url):
    client, keys, _ = secured
    b = bearer(keys["b"])
    tid = client.get("/api/prompt-templates", headers=b).json()["items"][0]["id"]
    version = ensure(client, tid, b)["id"]
    assert (
        client.put("/api/prompts/secret-b/labels/staging", json={"version_id": version}, headers=b).status_code == 200
    )

    login(client, keys["b-read"])
    page = client.get("/ui/prompts/secret-b")
    assert page.status_code == 200 and "staging" in page.text
    assert "Roll back" not in page.text and 'class="move"' not in page.text
    token = csrf_token(page.text)  # a real token of this session: only the role stops it
    forged = client.post(
        "/ui/prompts/secret-b/labels", data={"label": "staging", "version_id": version, "_csrf_token": token}
    )
    assert forged.status_code == 403 and "read" in forged.text
    rollback = client.post("/ui/prompts/secret-b/labels/staging/rollback", data={"_csrf_token": token})
    assert rollback.status_code == 403
    history = client.get("/api/prompts/secret-b/labels/staging/history", headers=b).json()["items"]
    assert len(history) == 1  # nothing the read key sent was recorded


def test_protected_labels_need_an_admin_in_the_ui_too(secured, sqlite_url):
    client, keys, _ = secured
    b = bearer(keys["b"])
    tid = client.get("/api/prompt-templates", headers=b).json()["items"][0]["id"]
    version = ensure(client, tid, b)["id"]
    admin = make_key(sqlite_url, "org-b", "ws-b", "admin")
    login(client, admin)
    token = csrf_token(client.get("/ui/prompts/secret-b").text)
    moved = client.post(
        "/ui/prompts/secret-b/labels", data={"label": "production", "version_id": version, "_csrf_token": token}
    )
    assert moved.status_code == 200 and "Roll back" in moved.text

    login(client, keys["b"])  # a write key: production is shown without its rollback button, and refused
    page = client.get("/ui/prompts/secret-b")
    assert "protected" in page.text and "Roll back" not in page.text and 'class="move"' in page.text
    refused = client.post(
        "/ui/prompts/secret-b/labels",
        data={"label": "production", "version_id": version, "_csrf_token": csrf_token(page.text)},
    )
    assert refused.status_code == 403 and "protected" in refused.text


def test_over_tls_the_session_cookie_is_secure(make_client, sqlite_url):
    from litestar.testing import TestClient

    plain = make_client(auth="required")
    key = make_key(sqlite_url, "org-t", "ws-t", "read")
    with TestClient(plain.app, base_url="https://testserver.local") as tls:
        response = login(tls, key)
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"] and "HttpOnly" in response.headers["set-cookie"]
