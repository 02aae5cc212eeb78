"""Fixtures for deploy/: the kustomize build (the real one, from kubectl or kustomize) and the checkov binary."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import need

REPO_ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_DIR = REPO_ROOT / "deploy" / "kubernetes"

Resource = dict[str, Any]


def _kustomize_command() -> list[str] | None:
    # kubectl has carried kustomize (`kubectl kustomize`) since 1.14; the standalone binary is the same code.
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@pytest.fixture(scope="session")
def kustomize_build() -> Callable[[Path], list[Resource]]:
    """kustomize_build(dir) -> the rendered resources, exactly what `kubectl apply -k dir` would send."""
    command = _kustomize_command()
    if command is None:
        need(
            "neither kustomize nor kubectl (which embeds kustomize) is on PATH: install kubectl >= 1.27 (the Kubernetes "
            "project's release binary or package; Debian's kubernetes-client is too old) or kustomize"
        )
    assert command is not None

    def build(directory: Path) -> list[Resource]:
        result = subprocess.run([*command, str(directory)], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, f"{' '.join(command)} {directory} failed:\n{result.stderr}"
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return build


@pytest.fixture(scope="session")
def checkov() -> str:
    """The checkov binary: $CHECKOV, the tool venv ./scripts/test makes (.venv-checkov), or PATH."""
    for candidate in (os.environ.get("CHECKOV"), str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("checkov")
    if found is None:
        need("checkov not found (./scripts/test installs it into .venv-checkov)")
    assert found is not None
    return found
