"""The UI in a real browser (Debian's headless Chromium): log in with a key, browse, see drift, follow a trace link,
and the security promises a browser is needed to believe (a script in a prompt stays text; cookies; CSP)."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.support import browser

pytestmark = pytest.mark.slow


def log_in(chrome, world, key: str = "write") -> None:
    chrome.get(f"{world.base_url}/ui/")
    assert chrome.current_url.endswith("/ui/login"), "an anonymous visit must land on the login form"
    chrome.find_element(By.NAME, "api_key").send_keys(world.keys[key])
    navigate(chrome, lambda: chrome.find_element(By.CSS_SELECTOR, "form button[type=submit]").click())
    assert chrome.current_url.rstrip("/").endswith("/ui"), chrome.current_url


def navigate(chrome, action, timeout_s: float = 10) -> None:
    """Do what leads to another page (a click, a form submit) and wait until that page has replaced this one.

    click() may return while the navigation is still under way, and a form that redirects back to the same URL
    changes nothing a URL check could see: so wait for the old document to go stale, then for the new one to load.
    Elements looked up before this are gone afterwards; look them up again."""
    old = chrome.find_element(By.TAG_NAME, "html")
    action()
    wait = WebDriverWait(chrome, timeout_s)
    wait.until(expected_conditions.staleness_of(old))
    wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")


def text_of(chrome) -> str:
    return chrome.find_element(By.TAG_NAME, "body").text


def test_log_in_browse_versions_drift_result_and_trace(chrome, world):
    chrome.get(f"{world.base_url}/ui/login")
    browser.full_page_screenshot(chrome, world.screenshots / "login.png")
    log_in(chrome, world)
    session = chrome.get_cookie("prompter_session")
    assert session is not None and session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/ui"
    page = text_of(chrome)
    assert "greet" in page and "summarize-ticket" in page and "acme / support" in page
    assert "globex-secret" not in page  # another tenant's prompt
    browser.full_page_screenshot(chrome, world.screenshots / "prompts.png")

    navigate(chrome, chrome.find_element(By.LINK_TEXT, "greet").click)
    assert "/ui/prompts/greet" in chrome.current_url
    page = text_of(chrome)
    assert "openai · gpt-4o" in page and "google · gemini-2.0-flash" in page
    assert not chrome.find_elements(By.CSS_SELECTOR, ".badge.drift")

    # The provider starts reporting another build; one ensure-version notices it.
    world.registry.get("openai").set_identity("fp_rotated_build")
    try:
        response = world.api.post(
            f"/api/prompt-templates/{world.greet_id}/ensure-version",
            json={"provider": "openai", "model_id": "gpt-4o", "refresh": True},
            headers=world.as_writer(),
        )
        assert response.status_code == 201 and response.json()["drift"] is True
        drifted = world.api.post(
            "/api/prompts/greet/run",
            params={"label": "production"},
            json={"variables": {"who": "Alan", "language": "German"}},
            headers=world.as_writer(),
        ).json()
        assert drifted["identity_matches_label"] is False
    finally:
        world.registry.get("openai").set_identity(None)
    chrome.refresh()
    badges = chrome.find_elements(By.CSS_SELECTOR, ".badge.drift")
    assert badges and badges[0].is_displayed()
    assert "fp_rotated_build" in text_of(chrome)
    assert chrome.find_elements(By.CSS_SELECTOR, "pre.diff .d-add") and chrome.find_elements(
        By.CSS_SELECTOR, "svg rect"
    )
    production = chrome.find_element(By.ID, "label-production")
    assert production.find_elements(By.CSS_SELECTOR, ".badge.drift"), "production is pinned to the old build"

    # Move `staging` to the Gemini version, then to the OpenAI one, then roll back; all land in the history.
    google = next(o for o in chrome.find_elements(By.CSS_SELECTOR, "form.move option") if "google" in o.text)
    google_id = google.get_attribute("value")
    move_form = chrome.find_element(By.CSS_SELECTOR, "form.move")
    label_input = move_form.find_element(By.NAME, "label")
    label_input.clear()
    label_input.send_keys("staging")
    google.click()
    move_form.find_element(By.NAME, "reason").send_keys("try gemini")
    navigate(chrome, move_form.find_element(By.CSS_SELECTOR, "button[type=submit]").click)
    assert chrome.current_url.endswith("#labels")
    assert f"#{google_id}" in chrome.find_element(By.ID, "label-staging").text
    assert "try gemini" in chrome.find_element(By.CSS_SELECTOR, "table.history").text
    openai_id = next(
        o.get_attribute("value")
        for o in chrome.find_elements(By.CSS_SELECTOR, "form.move option")
        if "openai" in o.text
    )
    move_form = chrome.find_element(By.CSS_SELECTOR, "form.move")
    move_form.find_element(By.CSS_SELECTOR, f"option[value='{openai_id}']").click()
    navigate(chrome, move_form.find_element(By.CSS_SELECTOR, "button[type=submit]").click)
    assert f"#{openai_id}" in chrome.find_element(By.ID, "label-staging").text
    navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "#label-staging form.rollback button").click)
    assert f"#{google_id}" in chrome.find_element(By.ID, "label-staging").text
    history = chrome.find_element(By.CSS_SELECTOR, "table.history").text
    assert f"rollback: #{openai_id} → #{google_id}" in history
    resolved = world.api.get("/api/prompts/greet", params={"label": "staging"}, headers=world.as_writer())
    assert resolved.json()["version"]["id"] == int(google_id)
    # A write key may not touch the protected label: it has no rollback button.
    assert not chrome.find_elements(By.CSS_SELECTOR, "#label-production form.rollback")
    browser.full_page_screenshot(chrome, world.screenshots / "prompt.png")

    navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "a.to-results").click)
    assert "prompt=greet" in chrome.current_url
    drifted_row = chrome.find_element(By.XPATH, f"//a[text()='#{drifted['id']}']/ancestor::tr")
    assert "production" in drifted_row.text and drifted_row.find_elements(By.CSS_SELECTOR, ".badge.drift")
    chrome.get(f"{world.base_url}/ui/results?prompt=greet&label=production")
    assert len(chrome.find_elements(By.CSS_SELECTOR, "table.list tbody tr")) == 2  # only the runs through the label
    chrome.get(f"{world.base_url}/ui/results?prompt=greet")
    browser.full_page_screenshot(chrome, world.screenshots / "results.png")
    navigate(chrome, chrome.find_element(By.LINK_TEXT, f"#{world.result_id}").click)
    page = text_of(chrome)
    assert "Rendered prompt" in page and "Hello Ada!" in page and "fp_stub_" in page
    browser.full_page_screenshot(chrome, world.screenshots / "result.png")

    # The trace link leads to the tracing backend, which holds that request's spans.
    spans = world.receiver.wait_for_spans(lambda s: any(span.trace_id == world.trace_id for span in s), timeout_s=15)
    assert any(span.trace_id == world.trace_id for span in spans)
    navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "a.trace").click)
    assert chrome.current_url == f"{world.receiver.url}/trace/{world.trace_id}"
    assert "POST /api/prompt-templates/{template_id}/run" in text_of(chrome)


def test_a_script_in_a_prompt_body_renders_as_text(chrome, world):
    log_in(chrome, world)
    chrome.get(f"{world.base_url}/ui/prompts/greet")
    bodies = [element.text for element in chrome.find_elements(By.CSS_SELECTOR, "pre.diff, pre.body")]
    assert any("<script>alert(1)</script>" in body for body in bodies)
    with pytest.raises(NoAlertPresentException):
        chrome.switch_to.alert  # noqa: B018 - the property raises when no alert() ran
    assert not chrome.find_elements(By.TAG_NAME, "script")


def test_the_ui_reads_well_on_a_phone(tmp_path, world):
    with browser.chromium(tmp_path / "phone", width=390, height=844) as phone:
        log_in(phone, world)
        phone.get(f"{world.base_url}/ui/prompts/greet")
        browser.full_page_screenshot(phone, world.screenshots / "prompt-phone.png")
        phone.set_window_size(390, 844)
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"the prompt page must not scroll sideways on a phone ({width} px wide)"


def test_logout_forgets_the_key(chrome, world):
    log_in(chrome, world, key="read")
    assert "read" in text_of(chrome)
    navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "form.who button").click)
    assert chrome.current_url.endswith("/ui/login") and chrome.get_cookie("prompter_session") is None
    chrome.get(f"{world.base_url}/ui/results")
    assert chrome.current_url.endswith("/ui/login")


def test_a_read_key_sees_no_change_buttons_and_its_forged_post_is_refused(chrome, world):
    log_in(chrome, world, key="read")
    chrome.get(f"{world.base_url}/ui/prompts/greet")
    assert "production" in chrome.find_element(By.ID, "labels").text
    assert not chrome.find_elements(By.CSS_SELECTOR, "form.move, form.rollback")
    history = "/api/prompts/greet/labels/production/history"
    before = world.api.get(history, headers=world.as_writer()).json()
    # Forge the move form in the page (as a tampering user could), with this session's valid CSRF token.
    forge = """
        const token = document.querySelector("input[name=_csrf_token]").value;
        const form = document.createElement("form");
        form.method = "post";
        form.action = "/ui/prompts/greet/labels";
        for (const [name, value] of [["_csrf_token", token], ["label", "production"], ["version_id", "1"]]) {
            const input = document.createElement("input");
            input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
        """
    navigate(chrome, lambda: chrome.execute_script(forge))
    assert "Not allowed" in text_of(chrome) and "403" in text_of(chrome)
    assert world.api.get(history, headers=world.as_writer()).json() == before
