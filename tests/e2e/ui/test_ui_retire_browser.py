"""Retiring prompts in a real browser (headless Chromium): a write key archives a version from the prompt page, finds
it again behind "Show archived", is refused archiving the labelled one, and sees no delete; an admin deletes a prompt
through the confirmation page, typing its name. Its own module: the world it changes is its own."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.test_auth import bearer
from tests.e2e.ui.test_ui_browser import log_in, navigate, text_of
from tests.support import browser

pytestmark = pytest.mark.slow


def versions_of(world, template_id: int, **params) -> list[dict]:
    response = world.api.get(
        f"/api/prompt-templates/{template_id}/versions", params=params, headers=bearer(world.keys["read"])
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_archive_a_version_then_delete_a_prompt_with_confirmation(chrome, world):
    labelled, other = sorted(versions_of(world, world.greet_id), key=lambda v: v["provider"] != "openai")
    log_in(chrome, world, "write")
    chrome.get(f"{world.base_url}/ui/prompts/greet")
    assert chrome.find_elements(By.ID, f"version-{other['id']}")
    assert not chrome.find_elements(By.PARTIAL_LINK_TEXT, "Delete prompt")  # a write key may archive, not delete

    archive = f"button[name=archive-versions][value='{other['id']}']"
    navigate(chrome, chrome.find_element(By.CSS_SELECTOR, archive).click)
    assert chrome.current_url.endswith(f"#version-{other['id']}")
    assert not chrome.find_elements(By.ID, f"version-{other['id']}"), "an archived version is hidden by default"
    assert [v["id"] for v in versions_of(world, world.greet_id)] == [labelled["id"]]

    navigate(chrome, chrome.find_element(By.LINK_TEXT, "Show archived").click)
    row = chrome.find_element(By.ID, f"version-{other['id']}")
    assert "archived" in row.text and "Unarchive" in row.text
    browser.full_page_screenshot(chrome, world.screenshots / "archived-version.png")

    # production points at the other version: no archive button, the label is named instead; a forged post of the
    # form (as a tampering user could) is refused by the server, naming the label
    row = chrome.find_element(By.ID, f"version-{labelled['id']}")
    assert "labelled: production" in row.text and not row.find_elements(By.TAG_NAME, "button")
    chrome.execute_script(
        """
        const form = document.querySelector("button[name=archive-versions]").form;
        form.action = "/ui/versions/" + arguments[0] + "/archive" + window.location.search;
        form.submit();
        """,
        labelled["id"],
    )
    WebDriverWait(chrome, 10).until(lambda driver: "Conflict" in text_of(driver))
    page = text_of(chrome)
    assert "'production'" in page and "Move or delete those labels first" in page
    assert [v["id"] for v in versions_of(world, world.greet_id)] == [labelled["id"]]

    chrome.delete_all_cookies()
    log_in(chrome, world, "admin")
    chrome.get(f"{world.base_url}/ui/prompts/draft-reply")
    navigate(chrome, chrome.find_element(By.PARTIAL_LINK_TEXT, "Delete prompt").click)
    assert chrome.current_url.endswith("/ui/prompts/draft-reply/delete")
    assert "cannot be undone" in text_of(chrome) and "results are kept" in text_of(chrome)
    browser.full_page_screenshot(chrome, world.screenshots / "delete-prompt.png")

    chrome.find_element(By.ID, "confirm").send_keys("draft-repl")
    navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "button[name=delete]").click)
    assert "?confirm=draft-reply" in text_of(chrome)  # the wrong name deletes nothing
    assert world.api.get("/api/prompts/draft-reply/labels", headers=bearer(world.keys["read"])).status_code == 200

    chrome.back()
    field = chrome.find_element(By.ID, "confirm")
    field.clear()
    field.send_keys("draft-reply")
    chrome.find_element(By.NAME, "reason").send_keys("replaced by a template library")
    navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "button[name=delete]").click)
    assert chrome.current_url.split("?")[0].rstrip("/").endswith("/ui")
    page = text_of(chrome)
    assert "Deleted prompt “draft-reply”" in page and "summarize-ticket" in page
    assert not chrome.find_elements(By.LINK_TEXT, "draft-reply")
    gone = world.api.get("/api/prompts/draft-reply/labels", headers=bearer(world.keys["read"]))
    assert gone.status_code == 404 and gone.json()["error"] == "template_not_found"
