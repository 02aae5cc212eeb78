"""sync_client.py is generated from async_client.py (client/scripts/generate_sync_client.py): the committed file must be
exactly what the script makes, so the two clients cannot drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "generate_sync_client.py"


def test_the_committed_sync_client_is_generated_from_the_async_one() -> None:
    pytest.importorskip("unasync", reason="unasync is in the test extra (pip install -e '.[test]')")
    spec = importlib.util.spec_from_file_location("generate_sync_client", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.TARGET.read_text() == script.generate(), f"sync_client.py is stale: run python {SCRIPT}"
