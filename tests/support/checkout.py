"""The suite leaves the checkout as it found it: `git status --porcelain` after the run shows nothing the run added.

Imported by tests/conftest.py as session hooks. The status is taken when the session starts and again when it ends;
any entry that appeared in between (a file written into the working tree, a tracked file changed) fails the run and
is listed. Comparing with the start, not with "empty", keeps the check usable while a developer has edits of their
own; on a fresh clone (CI) the start is empty, so the check is exactly "`git status --porcelain` is empty afterwards".
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_BEFORE = pytest.StashKey[frozenset[str] | None]()


def porcelain() -> frozenset[str] | None:
    """The checkout's `git status --porcelain` lines, or None when this is not a git checkout (an sdist, no git)."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return frozenset(line for line in done.stdout.splitlines() if line)


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BEFORE] = porcelain()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_BEFORE, None)
    after = porcelain()
    if before is None or after is None:
        return
    added = sorted(after - before)
    if not added:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")  # the progress line is still open when session hooks run
        reporter.write_sep("=", "the test run changed the checkout (git status --porcelain)", red=True)
        for line in added:
            reporter.write_line(f"  {line}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
