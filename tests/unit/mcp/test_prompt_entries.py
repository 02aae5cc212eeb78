"""The MCP prompt registry's rules (service/mcp/service.py) without a database: entry names, the cursor, arguments
from a template's variables and placeholders, and how string arguments become values."""

from __future__ import annotations

import pytest

from service.db.models import PromptTemplate
from service.errors import InvalidInput, Unprocessable
from service.mcp.service import _arguments, _values, decode_cursor, encode_cursor, mcp_name


def chat_template() -> PromptTemplate:
    return PromptTemplate(
        name="capitals",
        type="chat",
        body="",
        messages=[
            {"role": "system", "content": "You are {{ persona }}."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "{{ question }} in {{ words }} words"},
        ],
        variables=["persona", "question", "words"],
        input_schema={
            "type": "object",
            "properties": {"question": {"type": "string", "description": "What to ask"}, "words": {"type": "integer"}},
        },
        revision=1,
    )


def test_the_default_label_is_the_plain_name_and_others_are_suffixed() -> None:
    assert mcp_name("greet", "production") == "greet"
    assert mcp_name("greet", "staging") == "greet@staging"
    assert mcp_name("greet", "latest") == "greet@latest"


@pytest.mark.parametrize("after", ["greet", "a b", "naïve@home", ""])
def test_the_cursor_round_trips_any_name(after: str) -> None:
    assert decode_cursor(encode_cursor(after)) == after


@pytest.mark.parametrize("cursor", ["not a cursor", "e30", encode_cursor("x")[:-3] + "!!!", "bnVsbA"])
def test_a_malformed_cursor_is_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor)
    assert refused.value.code == "invalid_cursor"


def test_no_cursor_is_the_first_page() -> None:
    assert decode_cursor(None) is None and decode_cursor("") is None


def test_arguments_are_the_variables_then_the_optional_placeholders() -> None:
    arguments = _arguments(chat_template())
    assert [(a.name, a.required) for a in arguments] == [
        ("persona", True),
        ("question", True),
        ("words", True),
        ("history", False),
    ]
    described = {a.name: a.description for a in arguments}
    assert described["question"] == "What to ask"
    assert described["words"].endswith("(JSON integer)")
    assert described["persona"] == "Value of {{ persona }}"


def test_typed_values_and_placeholders_are_parsed_as_json_strings_are_kept() -> None:
    values = _values(
        chat_template(),
        {"persona": "42", "question": "[not json", "words": "3", "history": '[{"role": "user", "content": "hi"}]'},
    )
    assert values == {
        "persona": "42",
        "question": "[not json",
        "words": 3,
        "history": [{"role": "user", "content": "hi"}],
    }


@pytest.mark.parametrize(("key", "raw"), [("words", "three"), ("history", "hi")])
def test_a_json_argument_that_does_not_parse_is_refused_naming_it(key: str, raw: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        _values(chat_template(), {key: raw})
    assert refused.value.code == "invalid_variables" and key in refused.value.detail
