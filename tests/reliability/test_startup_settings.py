"""Settings that used to end `prompter serve` in a traceback are one line naming the setting and the fix, and
`prompter config` refuses what `serve` would refuse."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.reliability.test_startup_failures import _assert_one_line, _serve

pytestmark = pytest.mark.slow


def _config(db_url: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PROMPTER_", "OTEL_", "METRICS_", "REDIS_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "config"],
        env={**base, "DB_URL": db_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("db_url", "fix"),
    [
        ("sqlite://./prompter.db", "write sqlite:///./prompter.db"),
        ("sqlite://", "give a file, e.g. sqlite:///./prompter.db"),
        ("sqlite:///:memory:", "give a file"),
    ],
)
def test_a_malformed_or_in_memory_sqlite_url_is_one_line_from_serve_and_config(db_url: str, fix: str) -> None:
    for result in (_serve(db_url), _config(db_url)):
        line = _assert_one_line(result, f"DB_URL={db_url!r} is refused", fix)
        assert line.startswith("prompter: configuration refused:")
        assert "migrate" not in line  # running migrations cannot help an in-memory database


def test_a_port_out_of_range_is_one_line(sqlite_url: str) -> None:
    _assert_one_line(_serve(sqlite_url, port=99999), "--port 99999 is not a TCP port", "from 1 to 65535")
