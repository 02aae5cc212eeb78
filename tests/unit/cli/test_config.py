"""`prompter` refuses a bad setting before doing anything, in one line; `prompter config` shows the parsed values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _prompter(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PROMPTER_", "DB_URL", "METRICS_", "OTEL_"))}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env={**base, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("command", "env", "raw"),
    [
        (["serve", "--port", "1"], "PROMPTER_AUTH", "true"),
        (["migrate"], "PROMPTER_TELEMETRY", "no"),
        (["config"], "PROMPTER_METRICS_EXPORT", "Prometheus"),
    ],
)
def test_a_bad_value_stops_every_command_with_one_line(command: list[str], env: str, raw: str) -> None:
    result = _prompter(*command, **{env: raw})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{env}={raw!r} is refused; allowed: " in lines[0]


def test_config_shows_the_parsed_effective_values() -> None:
    result = _prompter("config", DB_URL="postgresql://app:secret@db/prompter", PROMPTER_AUTH="required")
    assert result.returncode == 0, result.stderr
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert shown["PROMPTER_DB_AUTO_MIGRATE"] == "false"  # the effective value for PostgreSQL, not "None"
    assert shown["PROMPTER_AUTH"] == "required"
    assert shown["DB_URL"] == "postgresql://app:***@db/prompter"
    assert _prompter("config", DB_URL="sqlite:///x.db").stdout.count("PROMPTER_DB_AUTO_MIGRATE=true") == 1
