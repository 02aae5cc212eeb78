import hashlib

from service.templates.rendering import content_hash, missing_variables, parse_variables, render


def test_variables_are_distinct_in_order_of_first_use():
    assert parse_variables("{{ b }} {{a}} {{  b  }} {{ c.d }} {{ e-f }}") == ["b", "a", "c.d", "e-f"]


def test_non_placeholders_are_ignored():
    assert parse_variables("{ a } {{ 1x }} {{}} {{ a b }} text") == []


def test_content_hash_is_sha256_of_the_body():
    assert content_hash("héllo") == "sha256:" + hashlib.sha256("héllo".encode()).hexdigest()
    assert content_hash("a") != content_hash("a ")


def test_missing_variables_are_named_in_template_order():
    assert missing_variables(["a", "b", "c"], {"b": 1, "x": 2}) == ["a", "c"]


def test_render_inserts_strings_verbatim_and_json_for_other_values():
    body = "{{ name }} has {{count}} items: {{ items }}; ok={{ ok }}"
    assert render(body, {"name": "Zoë", "count": 3, "items": ["a", "b"], "ok": True}) == (
        'Zoë has 3 items: ["a","b"]; ok=true'
    )


def test_render_does_not_expand_placeholders_inside_values():
    assert render("{{ a }} {{ b }}", {"a": "{{ b }}", "b": "x"}) == "{{ b }} x"
