"""Child processes for the multi-process harnesses: started so they cannot outlive us, stopped with bounded waits.

`spawn` runs the command under `setpriv --pdeathsig KILL` when util-linux's setpriv is there: if this Python process
dies without cleaning up (a hard timeout, kill -9), the kernel kills its servers too instead of leaving them bound to
ports. Orderly cleanup is still the caller's job (`stop`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def spawn(command: list[str], log: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    setpriv = shutil.which("setpriv")
    prefix = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
    with log.open("ab") as out:
        return subprocess.Popen(
            [*prefix, *command], env=dict(env) if env is not None else None, stdout=out, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes] | None, timeout_s: float = 15.0) -> int | None:
    """SIGTERM, wait up to `timeout_s`, then SIGKILL. Returns the exit code (None if it was never started)."""
    if process is None:
        return None
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)  # a stopped process would not act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return process.returncode


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def wait_until(condition: Callable[[], T], what: str, timeout_s: float, log: Path | None = None) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}\n{tail(log) if log else ''}")
        time.sleep(0.1)


def clean_env(**settings: Any) -> dict[str, str]:
    """A child's environment: only what a shell needs plus `settings`, so nothing of the developer's own configuration
    (DB_URL, provider keys, OTEL_*) leaks into a server under test."""
    # PYTHONPATH stays: it decides which checkout's code the child runs (a git worktree ahead of the installed one).
    kept = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")
    keep = {k: v for k, v in os.environ.items() if k in kept}
    return {**keep, "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in settings.items()}}
