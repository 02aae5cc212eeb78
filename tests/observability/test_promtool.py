"""prometheus/ is what Prometheus itself accepts: config, alert rules and their unit tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def run_promtool(promtool: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], cwd=cwd, check=False, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        # check config also loads rule_files, resolved relative to prometheus/prometheus.yml
        ("check", "config", "prometheus/prometheus.yml"),
        ("check", "rules", "prometheus/alerts.yml"),
        ("test", "rules", "prometheus/alerts_test.yml"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_promtool_accepts(promtool: str, repo_root: Path, args: tuple[str, ...]) -> None:
    result = run_promtool(promtool, repo_root, *args)
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def test_promtool_check_rules_rejects_a_broken_expression(promtool: str, tmp_path: Path) -> None:
    """Guards the guard: the promtool we run does reject bad PromQL."""
    rules = tmp_path / "broken.yml"
    rules.write_text("groups:\n- name: g\n  rules:\n  - alert: Broken\n    expr: sum by (x (rate(y[5m]))\n")
    result = run_promtool(promtool, tmp_path, "check", "rules", str(rules))
    assert result.returncode != 0
