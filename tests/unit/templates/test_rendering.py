import hashlib
import tracemalloc

import pytest

from service.http.errors import Unprocessable
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


# -- the rendered-size bound (PROMPTER_MAX_RENDERED_BYTES) ------------------------------------------------------------

SIZE_CASES = [
    ("plain text, no placeholders", {}),
    ("{{ a }}{{a}}{{  a\u2003}} and {{b}}", {"a": "é😀", "b": [1, "ü", {"k": None}]}),
    ("x{{ n }}y{{ t }}z{{ f }}", {"n": 3.5, "t": True, "f": None}),
    ("{{ a }} {{ missing.looking }} {{a}}", {"a": "", "missing.looking": "日本"}),
]


@pytest.mark.parametrize("body, values", SIZE_CASES)
def test_the_size_limit_is_exact_at_the_rendered_utf8_length(body, values):
    size = len(render(body, values).encode("utf-8"))
    assert render(body, values, max_bytes=size) == render(body, values)
    with pytest.raises(Unprocessable) as refused:
        render(body, values, max_bytes=size - 1)
    assert refused.value.code == "rendered_prompt_too_large"
    assert refused.value.extra == {"rendered_bytes": size, "limit": size - 1}


def test_an_amplifying_prompt_is_refused_before_it_is_built():
    """13 107 × `{{a}}` with a 40 KB value renders 524 MB: the refusal must come without allocating it."""
    body = "{{a}}" * 13_107
    tracemalloc.start()
    try:
        with pytest.raises(Unprocessable) as refused:
            render(body, {"a": "y" * 40_000}, max_bytes=256 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, peak
    assert (
        "524280000 bytes" in refused.value.detail and "`a`: 13107 occurrence(s) × 40000 bytes" in refused.value.detail
    )
    assert "PROMPTER_MAX_RENDERED_BYTES" in refused.value.detail
