"""The processes the harness runs and owns: `prompter serve` per configuration (each with its own fresh database), the
bare Litestar app variants, a throwaway redis-server, a local OTLP receiver, and fresh PostgreSQL databases.

Every process is started by the harness on a free 127.0.0.1 port and stopped by its own pid.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

# The launchers the tests use too: one free_port, one wait_until, one redis-server.
from tests.support import processes, replicas
from tests.support.ports import free_port
from tests.support.processes import wait_until
from tests.support.redis_server import RedisServer
from tests.support.replicas import Replica

HOST = "127.0.0.1"
# Inherited settings that would change what is measured; the harness sets what each configuration needs.
_SCRUBBED_PREFIXES = ("OTEL_", "PROMPTER_", "METRICS_")
_SCRUBBED_NAMES = {"DB_URL", "REDIS_URL"}
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES) and k not in _SCRUBBED_NAMES}
    env.update(values)
    return env


def http(method: str, url: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")


class Process:
    """A child process with its log file; stop() sends SIGTERM to its pid (graceful: flushes spans), then SIGKILL.

    Started through tests/support/processes.spawn (so it dies with the harness), or wrapping one already started
    (`popen=`: a tests/support launcher's process, measured the same way)."""

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        log_path: Path,
        popen: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.popen = popen if popen is not None else processes.spawn(command, log_path, env)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all its threads) so far, from /proc (Linux)."""
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_http(self, url: str, timeout: float = 60) -> None:
        def answers() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            try:
                return http("GET", url, timeout=2)[0] == 200
            except OSError:
                return False

        wait_until(answers, f"{self.name} to answer {url}", timeout, self.log_path)

    def stop(self, timeout: float = 20) -> None:
        processes.stop(self.popen, timeout_s=timeout)


class PrompterServer:
    """`prompter serve` (uvicorn, one process) with the given environment: the tests' replica launcher
    (tests/support/replicas.py), with the process measured for CPU."""

    def __init__(self, name: str, env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.env = clean_env(**env)
        self.replica = Replica(name, self.port, self.env, logdir).spawn()
        self.process = Process(name, [], self.env, self.replica.log, popen=self.replica.process)

    def wait_ready(self) -> None:
        self.replica.wait_ready()

    def stop(self) -> None:
        self.replica.stop()


class LitestarServer:
    """bench/litestar_app.py under uvicorn (one process), like `prompter serve`."""

    def __init__(self, name: str, variant: str, logdir: Path, otlp_endpoint: str | None) -> None:
        self.name = name
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        env = clean_env(BENCH_LITESTAR_VARIANT=variant, BENCH_OTLP_ENDPOINT=otlp_endpoint or "")
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.litestar_app:app",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "10",
        ]
        self.process = Process(name, command, env, logdir / f"{name}.log")

    def wait_ready(self) -> None:
        self.process.wait_http(self.base_url + "/healthz")

    def stop(self) -> None:
        self.process.stop()


class ReferenceServer:
    """bench/reference_app.py under uvicorn (one process): the minimal Litestar + async SQLAlchemy app Prompter's run
    is compared with."""

    def __init__(self, name: str, db_url: str, logdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        env = clean_env(BENCH_REFERENCE_DB=db_url)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.reference_app:app",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        self.process = Process(name, command, env, logdir / f"{name}.log")

    def wait_ready(self) -> None:
        self.process.wait_http(self.base_url + "/healthz")

    def stop(self) -> None:
        self.process.stop()


class OtlpSink:
    def __init__(self, logdir: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://{HOST}:{self.port}"
        env = clean_env()
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
        self.process = Process(
            "otlp-sink",
            [sys.executable, "-m", "bench.otlp_sink", "--port", str(self.port)],
            env,
            logdir / "otlp-sink.log",
        )
        self.process.wait_http(self.endpoint + "/", timeout=20)

    def stats(self) -> dict[str, Any]:
        _, body = http("GET", self.endpoint + "/stats", timeout=300)
        return body

    def stop(self) -> None:
        self.process.stop()


class Redis:
    """The tests' throwaway redis-server (tests/support/redis_server.py), plus what the report reads from it."""

    def __init__(self, workdir: Path) -> None:
        self._server = RedisServer().start()  # RuntimeError when redis-server is missing or does not start
        self.port = self._server.port
        self.url = self._server.url

    def info(self) -> dict[str, Any]:
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            stats = client.info("stats")
            return {
                "keys": client.dbsize(),
                "keyspace_hits": stats.get("keyspace_hits", 0),
                "keyspace_misses": stats.get("keyspace_misses", 0),
                "commands_processed": stats.get("total_commands_processed", 0),
            }
        finally:
            client.close()

    def stop(self) -> None:
        self._server.stop()


class PostgresDatabases:
    """Fresh databases on the machine's PostgreSQL, created for this run and dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []

    def available(self) -> bool:
        try:
            asyncio.run(self._execute())
        except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL here"
            return False
        return True

    def create(self, label: str) -> str:
        name = f"prompter_bench_{label}_{uuid.uuid4().hex[:8]}"
        asyncio.run(self._execute(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}"

    def drop_all(self) -> None:
        for name in self.created:
            try:
                asyncio.run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop database {name}: {exc}", file=sys.stderr)
        self.created.clear()

    async def _execute(self, *statements: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=5)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()


def migrate(db_url: str, logdir: Path, name: str) -> None:
    """`prompter migrate`, as the tests' replicas run it (tests/support/replicas.migrate)."""
    replicas.migrate(clean_env(DB_URL=db_url), logdir / f"{name}-migrate.log")
