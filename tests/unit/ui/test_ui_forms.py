"""The editor's and the playground's form rules, without a server: rows added, removed and moved by the buttons, the
form read back as the API's request body, API error paths placed beside their fields, variable fields typed by the
input schema and read back into values."""

from __future__ import annotations

import pytest

from service.errors import Unprocessable
from service.ui.forms import EditorForm, FormError, MessageRow, PinFields, field_of
from service.ui.variables import field_for, parse_values, variable_errors


def form_with(*contents: str) -> EditorForm:
    return EditorForm(name="p", messages=tuple(MessageRow(role="user", content=c) for c in contents))


def test_the_buttons_add_move_and_remove_rows() -> None:
    form = form_with("a", "b", "c")
    assert [m.content for m in form.apply("up:2").messages] == ["a", "c", "b"]
    assert [m.content for m in form.apply("down:0").messages] == ["b", "a", "c"]
    assert [m.content for m in form.apply("up:0").messages] == ["a", "b", "c"]  # the first row cannot go up
    assert [m.content for m in form.apply("down:2").messages] == ["a", "b", "c"]
    assert [m.content for m in form.apply("remove:1").messages] == ["a", "c"]
    assert form.apply("remove:9").messages == form.messages  # a stale index changes nothing
    assert form.apply("add").messages[-1] == MessageRow(role="user")
    assert form.apply("add-placeholder").messages[-1].kind == "placeholder"
    assert EditorForm().apply("add").messages[0].role == "system"  # a chat starts with its system message
    assert form.apply("nonsense") == form


def test_an_edit_forgets_the_preview_it_no_longer_matches() -> None:
    previewed = EditorForm(previewed="sha256:abc", messages=(MessageRow(content="x"),))
    assert previewed.apply("add").previewed == ""


def test_the_form_reads_back_in_row_order_and_as_the_apis_body() -> None:
    posted = {
        "name": " greet ",
        "type": "chat",
        "m10_role": "user",
        "m10_content": "second\r\nline",
        "m2_role": "system",
        "m2_content": "first",
        "m11_kind": "placeholder",
        "m11_name": "history",
        "input_schema": '{"type": "object"}',
    }
    form = EditorForm.of(posted)
    assert form.name == "greet"
    assert form.request() == {
        "name": "greet",
        "type": "chat",
        "messages": [
            {"role": "system", "content": "first"},
            {"role": "user", "content": "second\nline"},
            {"type": "placeholder", "name": "history"},
        ],
        "input_schema": {"type": "object"},
    }
    text = EditorForm.of({"name": "t", "type": "text", "body": "Hi {{ who }}"})
    assert text.request() == {"name": "t", "type": "text", "body": "Hi {{ who }}"}


def test_json_fields_that_do_not_parse_name_their_field() -> None:
    with pytest.raises(FormError) as raised:
        EditorForm(name="p", input_schema="{oops").request()
    assert raised.value.field == "input_schema" and "line 1, column 2" in raised.value.detail
    with pytest.raises(FormError) as raised:
        PinFields(provider="openai", model_id="m", tools="[").request()
    assert raised.value.field == "tools"


def test_the_pin_fields_become_an_ensure_version_body() -> None:
    pin = PinFields(
        provider="openai",
        model_id=" gpt-4o ",
        tool_choice="auto",
        tools='[{"type": "function", "function": {"name": "f"}}]',
        response_schema='{"type": "object"}',
    )
    assert pin.request() == {
        "provider": "openai",
        "model_id": "gpt-4o",
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": "auto",
        "response_format": {"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}},
    }
    assert PinFields(tool_choice='{"type": "function"}').request()["tool_choice"] == {"type": "function"}
    assert not PinFields(provider="openai").wanted


@pytest.mark.parametrize(
    ("path", "code", "field"),
    [
        ("messages[3].content", "invalid_template", "m3"),
        ("messages", "too_many_messages", "messages"),
        ("response_format.json_schema.schema.type", "invalid_bundle", "response_schema"),
        ("response_format.json_schema.name", "invalid_bundle", "response_name"),
        ("tools[0].function.name", "invalid_bundle", "tools"),
        ("$.name", "invalid_request", "name"),
        ("$.params.temperature", "invalid_request", "params"),
        (None, "invalid_name", "name"),
        (None, "unknown_provider", "provider"),
        (None, "duplicate_template", "form"),
    ],
)
def test_api_errors_land_beside_their_field(path: str | None, code: str, field: str) -> None:
    assert field_of(path, code) == field


def test_variable_fields_are_typed_by_the_input_schema() -> None:
    assert field_for("n", {"type": "integer"}, True, False, "").kind == "integer"
    assert field_for("x", {"type": "number"}, False, False, "").kind == "number"
    assert field_for("b", {"type": "boolean"}, False, False, "").kind == "boolean"
    assert field_for("o", {"type": "object"}, False, False, "").kind == "json"
    assert field_for("e", {"enum": ["a", "b"]}, False, False, "").choices == ("a", "b")
    assert field_for("h", {}, False, True, "").kind == "history"
    assert field_for("t", {"type": "string", "maxLength": 5000}, False, False, "").kind == "textarea"
    assert field_for("t", {}, False, False, "").kind == "text"


def test_values_are_read_back_by_their_field_type() -> None:
    fields = [
        field_for("n", {"type": "integer"}, True, False, ""),
        field_for("x", {"type": "number"}, False, False, ""),
        field_for("b", {"type": "boolean"}, False, False, ""),
        field_for("h", {}, False, True, ""),
        field_for("e", {"enum": ["a"]}, False, False, ""),
        field_for("t", {}, False, False, ""),
    ]
    typed = {"var_n": "3", "var_x": "", "var_b": "true", "var_h": '[{"role": "user", "content": "hi"}]', "var_t": ""}
    assert parse_values(fields, typed) == {"n": 3, "b": True, "h": [{"role": "user", "content": "hi"}], "t": ""}
    with pytest.raises(FormError) as raised:
        parse_values(fields, {**typed, "var_n": "3.5"})
    assert raised.value.field == "var_n"


def test_a_runs_refusal_lands_beside_the_variables_it_names() -> None:
    missing = Unprocessable("Missing variables: who.", code="missing_variables", missing=["who"])
    assert variable_errors(missing, "a")["var_who"] == "needs a value"
    invalid = Unprocessable(
        "bad", code="invalid_variables", violations=[{"path": "age", "message": "-1 is less than 0"}]
    )
    assert variable_errors(invalid, "a")["var_age"] == "-1 is less than 0"
    model = Unprocessable("`tools`: bad", code="invalid_bundle", path="tools")
    assert variable_errors(model, "b") == {"b_tools": "`tools`: bad"}
