"""One version, printed everywhere it is shown: `prompter --version`, /healthz, the OpenAPI info, the package metadata."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

from litestar.testing import TestClient

from service import __version__

REPO = Path(__file__).resolve().parents[3]
SEMVER = re.compile(r"^0\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")  # 0.x semantic versioning, no pre-release tags yet


def test_the_version_is_0x_semver() -> None:
    assert SEMVER.match(__version__), __version__


def test_prompter_version_prints_the_package_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "--version"], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"prompter {__version__}"


def test_healthz_and_the_openapi_info_carry_the_version(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    assert client.get("/healthz").json() == {"status": "ok", "version": __version__}
    assert client.get("/schema/openapi.json").json()["info"]["version"] == __version__


def test_pyproject_reads_the_version_from_the_package() -> None:
    """No second copy to forget: setuptools takes the version from `service.__version__`."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "service.__version__"}
    client = tomllib.loads((REPO / "client" / "pyproject.toml").read_text())
    assert client["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "prompter_client.__version__"}


def test_both_packages_are_apache_2_licensed() -> None:
    for pyproject in (REPO / "pyproject.toml", REPO / "client" / "pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())["project"]
        assert project["license"] == "Apache-2.0", pyproject
        for name in project["license-files"]:
            text = (pyproject.parent / name).read_text()
            assert text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in text


def test_the_changelog_has_an_entry_for_this_version() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M), (
        f"CHANGELOG.md has no '## [{__version__}] - YYYY-MM-DD' entry"
    )
