"""The rule for new prompt names (service/templates/names.py)."""

from __future__ import annotations

import re

import pytest

from service.http.errors import InvalidInput, status_of
from service.templates.names import NAME_PATTERN, check_new_name

REFUSED = {
    "zero-width space": "gre\u200bet",
    "zero-width joiner": "greet\u200d",
    "bidi override": "\u202egreet",
    "byte-order mark": "\ufeffgreet",
    "soft hyphen": "gre\u00adet",
    "CR/LF": "greet\r\n",
    "tab": "gr\teet",
    "NUL": "gr\x00eet",
    "no-break space": "greet\u00a0now",
    "trailing space": "greet ",
    "leading space": " greet",
    "dot": ".",
    "dot dot": "..",
    "slash": "a/b",
    "backslash": "a\\b",
    "ideographic space": "greet\u3000",
    "tag character": "greet\U000e0041",
}


@pytest.mark.parametrize("name", REFUSED.values(), ids=REFUSED.keys())
def test_look_alikes_invisibles_and_path_parts_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_new_name(name)
    assert refused.value.code == "invalid_name" and status_of(refused.value) == 400


@pytest.mark.parametrize(
    "name", ["greet", "greet v2", "support.reply-v1_b", "приветствие", "挨拶", "a..b", ".env", "..a", "a.", "x", "🅼K"]
)
def test_ordinary_names_in_any_one_script_are_kept(name: str) -> None:
    assert check_new_name(name) == name


def test_names_are_normalised_to_nfc() -> None:
    assert check_new_name("cafe\u0301") == "caf\u00e9"


@pytest.mark.parametrize("name", [*REFUSED.values(), "greet", ".env", "..a", " a", "a ", "a b", "\u00e9", "a\u200bb"])
def test_the_documented_pattern_is_the_rule(name: str) -> None:
    try:
        check_new_name(name)
        allowed = True
    except InvalidInput:
        allowed = False
    assert allowed == bool(re.fullmatch(NAME_PATTERN, name)), name
