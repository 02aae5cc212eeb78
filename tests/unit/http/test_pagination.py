import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.http.errors import InvalidInput, status_of
from service.http.pagination import CURSOR_PATTERN, check_limit, decode_cursor, encode_cursor


def test_cursor_round_trips():
    assert decode_cursor(encode_cursor(42)) == 42
    assert decode_cursor(None) is None and decode_cursor("") is None


@given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_every_cursor_the_documented_pattern_allows_is_accepted(cursor):
    """The OpenAPI documents CURSOR_PATTERN: a client following it never meets a 400."""
    value = decode_cursor(cursor)
    assert value is None or 1 <= value < 2**62


@given(st.integers(min_value=1, max_value=10**18 - 1))
def test_every_id_encodes_to_a_cursor_the_pattern_allows(last_id):
    assert re.fullmatch(CURSOR_PATTERN, encode_cursor(last_id)) and decode_cursor(encode_cursor(last_id)) == last_id


@pytest.mark.parametrize(
    "bad",
    ["zzz", "!!!", "aWQ6LTE", "aWQ6YWJj", "x" * 150, "../../etc", "0", "-5", "01", "1e3", "1_0", "１", " 1", "9" * 19],
)
def test_malformed_cursors_are_a_clear_400(bad):
    with pytest.raises(InvalidInput) as info:
        decode_cursor(bad)
    assert info.value.code == "invalid_cursor" and status_of(info.value) == 400


@pytest.mark.parametrize("limit", [0, -1, 201, 2**63])
def test_limits_outside_1_to_200_are_rejected(limit):
    with pytest.raises(InvalidInput):
        check_limit(limit)
