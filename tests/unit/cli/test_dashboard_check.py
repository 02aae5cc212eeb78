"""service/dashboard_check.py without a Prometheus: finding the dashboard, arguments, exit codes.

Evaluating the panels against a real Prometheus is tests/observability/test_live_prometheus.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import dashboard_check
from service.cli.main import main
from tests.support.ports import free_port

REPO_DASHBOARD = Path(__file__).resolve().parents[3] / "grafana/dashboards/prompter-rollout.json"


def test_the_dashboard_is_found_from_the_checkout_whatever_the_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert dashboard_check.default_dashboard() == REPO_DASHBOARD


def test_a_dashboard_exported_through_grafanas_api_is_unwrapped(tmp_path: Path) -> None:
    board = json.loads(REPO_DASHBOARD.read_text())
    wrapped = tmp_path / "export.json"
    wrapped.write_text(json.dumps({"dashboard": board, "meta": {"slug": "prompter-rollout"}}))
    assert dashboard_check.panel_exprs(dashboard_check.load_dashboard(wrapped)) == dashboard_check.panel_exprs(board)


def test_vars_override_the_match_all_defaults() -> None:
    values = dashboard_check.parse_vars(["service=prompter-api", "$env=prod|staging"])
    assert values["service"] == "prompter-api" and values["env"] == "prod|staging" and values["instance"] == ".*"
    with pytest.raises(ValueError, match="name=value"):
        dashboard_check.parse_vars(["service"])


def test_bad_arguments_exit_2(tmp_path: Path, capsys) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["check-dashboard", "--prometheus", url, "--dashboard", str(tmp_path / "missing.json")]) == 2
    assert main(["check-dashboard", "--prometheus", url, "--var", "oops"]) == 2
    assert "expected name=value" in capsys.readouterr().err


def test_no_dashboard_anywhere_asks_for_one(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(dashboard_check, "default_dashboard", lambda: None)
    assert main(["check-dashboard", "--prometheus", f"http://127.0.0.1:{free_port()}"]) == 2
    assert "pass --dashboard FILE" in capsys.readouterr().err


def test_an_unreachable_prometheus_exits_1_and_says_so(capsys) -> None:
    url = f"http://prometheus:secret@127.0.0.1:{free_port()}"  # nothing listens there
    assert main(["check-dashboard", "--prometheus", url, "--dashboard", str(REPO_DASHBOARD)]) == 1
    out = capsys.readouterr()
    assert "cannot query Prometheus" in out.err and "ConnectError" in out.err
    assert "secret" not in out.out + out.err
