"""Fixtures for the observability-stack checks (compose, Prometheus, Grafana, OTel Collector).

None of these tests start a container: the stack's files are checked statically, and with
promtool where it is installed (Debian package `prometheus`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of the promtool binary: a failure in CI, a skip elsewhere, when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        reason = "promtool not found on PATH (Debian: apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path
