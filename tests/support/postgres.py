"""Find a PostgreSQL server for the tests, or start a throwaway cluster from the binaries.

Order: $PROMPTER_TEST_PG_URL; the machine's server on 127.0.0.1:5432 (database `test`, trust auth); a cluster this
module creates under /tmp (initdb/pg_ctl refuse root, so they run as the `postgres` user when we are root).
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

from tests.support.ports import free_port, port_open


def _bin_dir() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return os.path.dirname(candidates[0]) if candidates else None


async def _can_connect(url: str) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=3)
    except Exception:
        return False
    await conn.close()
    return True


def can_connect(url: str) -> bool:
    return asyncio.run(_can_connect(url))


class ThrowawayPostgres:
    """A private cluster: tests may stop and start it (database outage tests) without touching the shared server."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL binaries (pg_ctl) not found: install them (Debian: apt-get install postgresql; macOS: brew "
                "install postgresql), or set PROMPTER_TEST_PG_URL to a server the tests may create databases on"
            )
        self.bin_dir = bin_dir
        self.port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix="prompter-pg-")
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, user="postgres")
        self._run("initdb", "-D", self.data_dir, "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [os.path.join(self.bin_dir, tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> ThrowawayPostgres:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.data_dir, "-o", options, "-l", f"{self.data_dir}/log", "-w", "start")
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("throwaway PostgreSQL did not start")
            time.sleep(0.1)
        return self

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "stop")


def shared_server_url() -> str | None:
    explicit = os.environ.get("PROMPTER_TEST_PG_URL")
    if explicit:
        return explicit
    url = "postgresql://postgres@127.0.0.1:5432/test"
    if port_open("127.0.0.1", 5432) and can_connect(url):
        return url
    return None
