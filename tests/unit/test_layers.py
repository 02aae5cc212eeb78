"""The architecture as contracts ([tool.importlinter] in pyproject.toml): imports go one way through the layers, services
and repositories import neither Litestar nor a request/response schema, domain code measures only through telemetry/,
and no two sibling packages import each other. Run with import-linter's own API, so the test command enforces them."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("importlinter", reason="import-linter is in the test extra")
from importlinter import api as _configured  # noqa: E402,F401 - importing it configures import-linter
from importlinter.application import use_cases  # noqa: E402


def test_every_import_contract_is_kept(monkeypatch, capsys):
    """On failure the message is import-linter's own report: which contract broke and the chain of imports that did."""
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    passed = use_cases.lint_imports(str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True, is_debug_mode=True)
    report = capsys.readouterr().out
    if not passed:
        broken = [line.strip() for line in report.splitlines() if line.rstrip().endswith("BROKEN")]
        pytest.fail("Broken import contracts: " + "; ".join(broken) + "\n\n" + report, pytrace=False)
    assert "BROKEN" not in report and "KEPT" in report


def test_the_contracts_cover_layers_forbidden_imports_and_cycles():
    options = use_cases.read_user_options(str(ROOT / "pyproject.toml"))
    kinds = {contract["type"] for contract in options.contracts_options}
    assert kinds >= {"layers", "forbidden", "acyclic_siblings"}
