"""The pure rules of observations: which reported fields each provider has, the stats window, OTLP span decoding."""

from __future__ import annotations

import pytest

from service.http.errors import InvalidInput, Unprocessable
from service.observations import otlp
from service.observations.handlers import parse_window
from service.providers.identity import reported_identity


@pytest.mark.parametrize(
    ("provider", "reported", "expected"),
    [
        ("openai", {"system_fingerprint": "fp", "model": "m"}, {"system_fingerprint": "fp", "model": "m"}),
        ("openai", {"model": "m"}, {"system_fingerprint": None, "model": "m"}),  # compatible servers: no fingerprint
        ("openai", {"modelVersion": "x"}, None),
        ("openai", {}, None),
        ("anthropic", {"model": "claude-3-5-sonnet-20241022"}, {"model": "claude-3-5-sonnet-20241022"}),
        ("anthropic", {"model": "m", "system_fingerprint": "fp"}, None),
        ("google", {"modelVersion": "models/gemini-001"}, {"modelVersion": "gemini-001"}),
        ("google", {"model": "x"}, None),
        ("google", {"modelVersion": 7}, None),
        ("mistral", {"model": "x"}, None),
    ],
)
def test_reported_identity(provider: str, reported: dict, expected: dict | None) -> None:
    assert reported_identity(provider, reported) == expected


def test_window() -> None:
    assert parse_window("1h") == 3600 and parse_window("15m") == 900 and parse_window("30d") == 30 * 86400
    for bad in ("0h", "1w", "h", "1.5h", "-1h"):
        with pytest.raises(InvalidInput):
            parse_window(bad)
    with pytest.raises(Unprocessable):
        parse_window("31d")


def test_otlp_json_spans_without_prompt_attributes_are_skipped_before_decoding_them() -> None:
    body = b"""{"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "eee19b7ec3c1b174",
         "startTimeUnixNano": "1000000", "endTimeUnixNano": "3000000", "status": {"code": 2},
         "attributes": [{"key": "prompter.prompt.name", "value": {"stringValue": "greet"}},
                        {"key": "gen_ai.system", "value": {"stringValue": "anthropic"}},
                        {"key": "gen_ai.response.model", "value": {"stringValue": "claude-x"}},
                        {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "12"}}]},
        {"traceId": "00", "spanId": "00", "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}]},
        {"traceId": "00", "spanId": "01", "attributes": [{"key": "prompter.prompt.name", "value": {"stringValue": "x"}}]}
    ]}]}]}"""
    export = otlp.parse(body, otlp.JSON, max_spans=10)
    assert export.spans == 3 and export.skipped == 2  # no prompt; a prompt but neither identity nor error
    (call,) = export.calls
    assert call.obs_id == "5b8efff798038103d269b633813fc60ceee19b7ec3c1b174"
    assert call.provider == "anthropic" and call.reported == {"model": "claude-x"} and call.error_type == "error"
    assert call.input_tokens == 12 and call.latency_ms == 2.0 and call.prompt == "greet"


def test_gzip_is_bounded_after_decompression() -> None:
    import gzip

    assert otlp.decompress(gzip.compress(b"x" * 100), "gzip", 100) == b"x" * 100
    with pytest.raises(otlp.ExportTooLarge):
        otlp.decompress(gzip.compress(b"x" * 101), "gzip", 100)
    with pytest.raises(InvalidInput):
        otlp.decompress(gzip.compress(b"x" * 100)[:-10], "gzip", 1000)
