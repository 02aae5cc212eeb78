"""`prompter serve` replicas as production runs them: one process each, configured by environment variables only."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import processes


def prompter_command() -> list[str]:
    script = Path(sys.executable).with_name("prompter")
    if script.exists():
        return [str(script)]
    found = shutil.which("prompter")
    assert found, "the `prompter` console script is not installed (pip install -e .)"
    return [found]


def migrate(env: dict[str, str], log: Path) -> None:
    """`prompter migrate`, as the Kubernetes Job and compose's `migrate` service run it before the replicas start."""
    with log.open("ab") as out:
        result = subprocess.run(
            [*prompter_command(), "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120
        )
    assert result.returncode == 0, f"prompter migrate failed\n{processes.tail(log)}"


class Replica:
    def __init__(self, name: str, port: int, env: dict[str, str], workdir: Path) -> None:
        self.name, self.port, self.env = name, port, env
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> Replica:
        command = [*prompter_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = processes.spawn(command, self.log, self.env)
        return self

    def wait_ready(self, timeout_s: float = 60) -> None:
        def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, (
                f"{self.name} exited\n{processes.tail(self.log)}"
            )
            try:
                return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        processes.wait_until(ready, f"{self.name} /readyz", timeout_s, self.log)

    def sigterm(self, timeout_s: float = 30) -> tuple[int, float]:
        """SIGTERM and wait for the exit: (exit code, seconds the drain took)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout_s)
        return code, time.monotonic() - started

    def stop(self) -> None:
        processes.stop(self.process)
        self.process = None
