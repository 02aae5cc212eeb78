"""The documentation site builds with `mkdocs build --strict`: every page in the nav exists, every link and anchor
resolves, every included file (client/README.md, CHANGELOG.md, ...) is there. And the README stays a front door."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need

REPO = Path(__file__).resolve().parents[2]

# Words about how the project is made, which a user's documentation has no use for.
NOT_FOR_USERS = re.compile(r"\bissue \d+|\bissue's\b|\bengineers?'|\bthe lead\b|root cause is not found", re.I)


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    try:
        import material  # noqa: F401 - the Material for MkDocs theme
    except ImportError:
        need("mkdocs-material is not installed (pip install -e '.[test]'; ./scripts/test installs it)")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "reference" / "configuration" / "index.html").is_file()


def test_the_readme_is_a_front_door() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 250, "README.md is over 250 lines: move detail into docs/"
    for link in re.findall(r"\]\(((?!https?://|#)[^)]+)\)", readme):
        assert (REPO / link.split("#")[0]).exists(), f"README.md links to a missing file: {link}"


@pytest.mark.parametrize(
    "path",
    [
        "README.md",
        "CONTRIBUTING.md",
        "SECURITY.md",
        "CHANGELOG.md",
        "client/README.md",
        *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").rglob("*.md")),
    ],
)
def test_documents_speak_to_the_user(path: str) -> None:
    text = (REPO / path).read_text()
    found = NOT_FOR_USERS.findall(text)
    assert not found, f"{path} speaks of how the project is made: {found}"
