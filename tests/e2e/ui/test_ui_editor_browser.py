"""Writing and trying prompts in a real browser (headless Chromium, no script on the pages): create a chat prompt
with a tool, edit it into a new revision through the diff preview, pin two versions, run both side by side in the
playground, label the better one and archive the other."""

from __future__ import annotations

import json
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.chat.support import TOOLS
from tests.e2e.ui.test_ui_browser import log_in, navigate, text_of
from tests.support import browser

pytestmark = pytest.mark.slow

SCHEMA = {
    "type": "object",
    "properties": {"country": {"type": "string"}, "style": {"type": "string", "enum": ["short", "chatty"]}},
    "required": ["country", "style"],
}


def type_into(chrome, css: str, text: str) -> None:
    element = chrome.find_element(By.CSS_SELECTOR, css)
    element.clear()
    element.send_keys(text)


def press(chrome, value: str) -> None:
    """Press one of the form's buttons (they submit the whole form: the page comes back with the change made)."""
    navigate(
        chrome, chrome.find_element(By.CSS_SELECTOR, f"button[name=action][value='{value}']:not(.default-action)").click
    )


def test_create_edit_pin_compare_in_the_playground_and_label_the_better_one(chrome, world):
    log_in(chrome, world)
    navigate(chrome, chrome.find_element(By.LINK_TEXT, "New prompt").click)
    assert chrome.current_url.endswith("/ui/new")
    type_into(chrome, "#name", "capital-tutor")
    type_into(chrome, "textarea[name=m0_content]", "You are a geography tutor. Answer in a {{ style }} way.")
    type_into(chrome, "textarea[name=m1_content]", "Which city is the capital of {{ country }}?")
    # Add a third message, move it to the top, then remove it again: the two typed messages stay as they were.
    press(chrome, "add")
    type_into(chrome, "textarea[name=m2_content]", "scratch message")
    press(chrome, "up:2")
    press(chrome, "up:1")
    assert chrome.find_element(By.CSS_SELECTOR, "textarea[name=m0_content]").get_attribute("value") == "scratch message"
    press(chrome, "remove:0")
    assert "geography tutor" in chrome.find_element(By.CSS_SELECTOR, "textarea[name=m0_content]").get_attribute("value")
    type_into(chrome, "#input_schema", json.dumps(SCHEMA))
    type_into(chrome, "#model_id", "gpt-4o")
    type_into(chrome, "#tools", "[{not json")
    press(chrome, "save")
    error = chrome.find_element(By.ID, "error-tools")
    assert error.is_displayed() and "not valid JSON" in error.text  # beside the field, the form kept
    assert chrome.find_element(By.ID, "name").get_attribute("value") == "capital-tutor"
    type_into(chrome, "#tools", json.dumps(TOOLS))
    type_into(chrome, "#tool_choice", "auto")
    browser.full_page_screenshot(chrome, world.screenshots / "editor.png")
    press(chrome, "save")
    assert "/ui/prompts/capital-tutor" in chrome.current_url, text_of(chrome)[:500]
    assert "lookup_capital" in text_of(chrome) and "openai · gpt-4o" in text_of(chrome)

    # A new revision from r1, prefilled; saved only after its diff was shown.
    navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "a.button.edit").click)
    content = chrome.find_element(By.CSS_SELECTOR, "textarea[name=m0_content]")
    assert "geography tutor" in content.get_attribute("value")
    type_into(chrome, "textarea[name=m0_content]", "You are a patient geography tutor. Answer in a {{ style }} way.")
    assert not chrome.find_elements(By.CSS_SELECTOR, "button[value=save]")  # no save before a preview
    press(chrome, "preview")
    added = chrome.find_elements(By.CSS_SELECTOR, "#preview pre.diff .d-add")
    assert added and "patient geography tutor" in added[0].text
    assert chrome.find_elements(By.CSS_SELECTOR, "#preview pre.diff .d-del")
    browser.full_page_screenshot(chrome, world.screenshots / "editor-preview.png")
    press(chrome, "save")
    assert chrome.current_url.endswith("#revision-2"), chrome.current_url

    # Pin r2 twice: OpenAI and Anthropic, both with the tool (prefilled from the newest version).
    pinned = []
    for provider, model in (("openai", "gpt-4o"), ("anthropic", "claude-3-5-sonnet")):
        navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "a.button.pin").click)
        assert "lookup_capital" in chrome.find_element(By.ID, "tools").get_attribute("value")
        Select(chrome.find_element(By.ID, "template_id")).select_by_index(0)  # newest first: r2
        Select(chrome.find_element(By.ID, "provider")).select_by_value(provider)
        type_into(chrome, "#model_id", model)
        navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "form.pin button.save").click)
        match = re.search(r"#version-(\d+)$", chrome.current_url)
        assert match, chrome.current_url
        pinned.append(match.group(1))
    openai_id, anthropic_id = pinned

    # Side by side in the playground with the same variables.
    navigate(chrome, chrome.find_element(By.CSS_SELECTOR, "a.button.playground").click)
    Select(chrome.find_element(By.NAME, "a")).select_by_value(f"version:{openai_id}")
    Select(chrome.find_element(By.NAME, "b")).select_by_value(f"version:{anthropic_id}")
    press(chrome, "choose")
    type_into(chrome, "#var_country", "Peru")
    Select(chrome.find_element(By.ID, "var_style")).select_by_value("short")
    press(chrome, "run")
    outcomes = chrome.find_elements(By.CSS_SELECTOR, "section.outcome")
    assert len(outcomes) == 2, text_of(chrome)[:800]
    assert f"#{openai_id}" in outcomes[0].text and f"#{anthropic_id}" in outcomes[1].text
    for outcome in outcomes:
        assert "ms" in outcome.text and " in · " in outcome.text and "playground" in outcome.text
    assert chrome.find_element(By.ID, "var_country").get_attribute("value") == "Peru"  # ready for another try
    browser.full_page_screenshot(chrome, world.screenshots / "playground.png")
    result_ids = [
        a.get_attribute("href").rsplit("/", 1)[1] for a in chrome.find_elements(By.CSS_SELECTOR, "a.result-link")
    ]
    for rid in result_ids:
        stored = world.api.get(f"/api/prompt-results/{rid}", headers=world.as_writer()).json()
        assert stored["variables"] == {"country": "Peru", "style": "short"}

    # The Anthropic one answered better: label it.
    chrome.get(f"{world.base_url}/ui/prompts/capital-tutor")
    move = chrome.find_element(By.CSS_SELECTOR, "form.move")
    type_into(chrome, "#move-label", "staging")
    move.find_element(By.CSS_SELECTOR, f"option[value='{anthropic_id}']").click()
    move.find_element(By.NAME, "reason").send_keys("better in the playground")
    navigate(chrome, move.find_element(By.CSS_SELECTOR, "button[type=submit]").click)
    assert f"#{anthropic_id}" in chrome.find_element(By.ID, "label-staging").text
    resolved = world.api.get("/api/prompts/capital-tutor", params={"label": "staging"}, headers=world.as_writer())
    assert resolved.json()["version"]["id"] == int(anthropic_id)

    # The other one is retired: archived from the prompt page, hidden from it afterwards.
    archive = chrome.find_element(By.CSS_SELECTOR, f"button[name=archive-versions][value='{openai_id}']")
    navigate(chrome, archive.click)
    assert not chrome.find_elements(By.ID, f"version-{openai_id}"), text_of(chrome)[:800]
    assert chrome.find_elements(By.ID, f"version-{anthropic_id}")
    navigate(chrome, chrome.find_element(By.LINK_TEXT, "Show archived").click)
    assert "archived" in chrome.find_element(By.ID, f"version-{openai_id}").text  # retired, not gone


def test_the_editor_and_the_playground_read_well_on_a_phone(tmp_path, world):
    with browser.chromium(tmp_path / "phone", width=390, height=844) as phone:
        log_in(phone, world)
        for path in ("/ui/new", "/ui/prompts/greet/edit", "/ui/prompts/greet/pin", "/ui/prompts/greet/playground"):
            phone.get(f"{world.base_url}{path}")
            assert "Not allowed" not in text_of(phone), path
            phone.set_window_size(390, 844)  # headless Chromium starts at its minimum window width (500 px)
            width = phone.execute_script("return document.documentElement.scrollWidth")
            assert width <= 390, f"{path} must not scroll sideways on a phone ({width} px wide)"
