"""Chat templates: canonical form, variables across messages, the content hash, rendering with history."""

import hashlib

import pytest

from service.http.errors import Unprocessable
from service.templates.chat import chat_variables, render_messages, template_hash, validate_messages

MESSAGES = [
    {"role": "system", "content": "You are {{ persona }}."},
    {"type": "placeholder", "name": "history"},
    {"type": "message", "role": "user", "content": "{{ question }} ({{ persona }})"},
]


def test_text_templates_hash_as_they_always_have():
    assert (
        template_hash("text", "Hello {{ x }}", None, None) == "sha256:" + hashlib.sha256(b"Hello {{ x }}").hexdigest()
    )
    assert template_hash("text", "Hello", None, {"type": "object"}) != template_hash("text", "Hello", None, None)


def test_canonical_messages_and_their_hash_ignore_key_order_and_the_default_type():
    checked = validate_messages(MESSAGES, max_messages=10)
    assert checked[2] == {"role": "user", "content": "{{ question }} ({{ persona }})"}
    reordered = validate_messages(
        [{"content": m.get("content"), **m} if "content" in m else m for m in MESSAGES[::1]], max_messages=10
    )
    assert template_hash("chat", "", checked, None) == template_hash("chat", "", reordered, None)
    assert chat_variables(checked) == ["persona", "question"]


def test_rendering_fills_the_placeholder_and_substitutes_once():
    checked = validate_messages(MESSAGES, max_messages=10)
    history = [{"role": "user", "content": "{{ persona }}"}, {"role": "assistant", "content": "hi"}]
    rendered = render_messages(checked, {"persona": "Ada", "question": 3, "history": history}, max_bytes=10_000)
    assert rendered == [
        {"role": "system", "content": "You are Ada."},
        {"role": "user", "content": "{{ persona }}"},  # values are not expanded again
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "3 (Ada)"},
    ]


def test_the_budget_counts_history_and_every_occurrence():
    checked = validate_messages(MESSAGES, max_messages=10)
    with pytest.raises(Unprocessable) as raised:
        render_messages(checked, {"persona": "a" * 40, "question": "q", "history": []}, max_bytes=90)
    assert (
        raised.value.code == "rendered_prompt_too_large" and raised.value.extra["rendered_bytes"] == 9 + 3 + 40 * 2 + 1
    )
    with pytest.raises(Unprocessable):
        render_messages(
            checked,
            {"persona": "a", "question": "q", "history": [{"role": "user", "content": "x" * 99}]},
            max_bytes=100,
        )


def test_too_many_messages():
    with pytest.raises(Unprocessable) as raised:
        validate_messages(MESSAGES, max_messages=2)
    assert raised.value.code == "too_many_messages"
