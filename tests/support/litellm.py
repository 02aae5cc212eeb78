"""LiteLLM's proxy (`litellm[proxy]` in .venv-litellm) as a subprocess on a free port, with a given config; for tests
that need a real OpenAI-compatible server this project did not write."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def litellm_binary() -> str | None:
    for candidate in (os.environ.get("LITELLM"), str(REPO_ROOT / ".venv-litellm" / "bin" / "litellm")):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("litellm")


@contextmanager
def litellm_proxy(binary: str, config: str, workdir: Path, startup_s: float = 180) -> Iterator[str]:
    """Start the proxy on `config` (YAML text), yield its base URL once /health/liveliness answers, stop it by pid."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(config)
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "OTEL_"))
    }
    env.update(LITELLM_LOG="ERROR", LITELLM_TELEMETRY="False", DISABLE_SCHEMA_UPDATE="true", NO_DOCS="true")
    log_path = workdir / "litellm.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "--config",
                str(workdir / "config.yaml"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--num_workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=workdir,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"litellm exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"litellm did not start within {startup_s} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
