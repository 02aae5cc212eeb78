import pytest

from service.http.errors import InvalidInput
from service.http.pagination import check_limit, decode_cursor, encode_cursor


def test_cursor_round_trips():
    assert decode_cursor(encode_cursor(42)) == 42
    assert decode_cursor(None) is None and decode_cursor("") is None


@pytest.mark.parametrize(
    "bad", ["zzz", "!!!", encode_cursor(1)[:-1] + "%", "aWQ6LTE", "aWQ6YWJj", "x" * 150, "../../etc"]
)
def test_malformed_cursors_are_a_clear_400(bad):
    with pytest.raises(InvalidInput) as info:
        decode_cursor(bad)
    assert info.value.code == "invalid_cursor" and info.value.status == 400


@pytest.mark.parametrize("limit", [0, -1, 201, 2**63])
def test_limits_outside_1_to_200_are_rejected(limit):
    with pytest.raises(InvalidInput):
        check_limit(limit)
