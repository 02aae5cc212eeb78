"""`Prompt.render` is the server's render: same placeholders, one pass, JSON for non-strings, same missing-variable
error. Compared with service/templates/rendering.py (and the run's error text) on the same inputs."""

from __future__ import annotations

from typing import Any

import pytest
from prompter_client import MissingVariables, Prompt
from prompter_client.rendering import parse_variables

from service.templates import rendering as server

CASES: list[tuple[str, dict[str, Any]]] = [
    ("Hello {{ name }} from {{team}}!", {"name": "Ada", "team": "Prompter"}),
    ("{{a}}{{ a }}{{  a  }}", {"a": "x"}),
    ("dotted {{ user.name }} and dashed {{ the-team }}", {"user.name": "Ada", "the-team": "T"}),
    ("numbers {{ n }} {{ f }} {{ b }} {{ z }}", {"n": 3, "f": 1.5, "b": True, "z": None}),
    ("json {{ items }} {{ obj }}", {"items": ["a", "é", 2], "obj": {"k": [1, {"x": "ü"}]}}),
    ("no expansion {{ v }}", {"v": "{{ w }}", "w": "never"}),
    ("not placeholders: {{ 1bad }} {{}} { {x} } {{ x y }}", {}),
    ("unicode {{ name }} ✓", {"name": "Zoë 🚀"}),
    ("multi\nline {{ a }}\n{{ b }}", {"a": "1\n2", "b": ""}),
    ("extra values are ignored {{ a }}", {"a": "A", "unused": 1}),
]


@pytest.mark.parametrize(("body", "values"), CASES)
def test_render_matches_the_server(body: str, values: dict[str, Any]) -> None:
    prompt = Prompt(name="t", body=body, variables=server.parse_variables(body))
    assert parse_variables(body) == server.parse_variables(body)
    assert prompt.render(values) == server.render(body, values)


def test_keyword_and_mapping_forms_agree() -> None:
    prompt = Prompt(name="t", body="{{ a }} {{ user.name }}")
    assert prompt.render({"user.name": "U"}, a="A") == "A U"


def test_missing_variables_is_the_servers_error() -> None:
    body = "{{ a }} {{ b }} {{ c }} {{ a }}"
    with pytest.raises(MissingVariables) as raised:
        Prompt(name="t", body=body).render(b="B")
    missing = server.missing_variables(server.parse_variables(body), {"b": "B"})
    # service/runs/service.py raises 422 missing_variables with this detail and `missing`.
    assert raised.value.missing == missing == ["a", "c"]
    assert raised.value.code == "missing_variables" and raised.value.status == 422
    assert raised.value.detail == f"Missing variables: {', '.join(missing)}. Supply a value for each in `variables`."
