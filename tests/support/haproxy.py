"""Debian's HAProxy in front of several `prompter serve` replicas, configured the way we tell people to run it.

- Health checks: `GET /readyz` every 500 ms; 3 failures take a replica out, 2 successes put it back. A replica that
  gets SIGTERM fails /readyz at once and keeps serving for PROMPTER_SHUTDOWN_DELAY_S (each answer `Connection:
  close`), longer than the 3 x 500 ms HAProxy needs to take it out: by the time it closes its listener and its idle
  keep-alive connections, HAProxy has stopped sending to it.
- `retries 3` + `option redispatch 1`: a request whose connection failed is retried, each time on another replica.
- `retry-on conn-failure empty-response junk-response`: besides refused connections, retry a request when the
  replica closed the connection without answering a byte (or with garbage). Not `response-timeout`: a slow request
  may still be running on its replica, and a second copy would run it twice. Whatever slips past the
  readiness step (a connection HAProxy picked from its idle pool as the replica closed it, one still queued in the
  listener's backlog) never reached the app, so the retry is safe. (A replica killed -9 mid-request would also look
  like this; Idempotency-Key makes even that retry safe for runs and creates.)
- Idle server connections are HAProxy's to close: `pool-purge-delay` (2 s) is far below the replicas'
  PROMPTER_KEEP_ALIVE_S, so a replica never closes an idle connection HAProxy may be about to reuse.
- Every answer carries `X-Served-By: <replica>` so a client can tell which replica served it.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import httpx

from tests.support import processes
from tests.support.ports import free_port

CONFIG = """\
global
    maxconn 2000
    # One line per request in haproxy.log (termination state, retries, server): what a failed request met.
    log stderr format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    # A busy replica may answer /readyz slowly: 1 s once took all three out at once (503 "no server
    # is available"). A stopping replica answers 503 at once, so this does not slow its removal.
    timeout check 2s
    # Longer than the clients' own idle expiry (httpx: 5 s): the client closes an idle connection, never HAProxy
    # under a request the client is just sending on it.
    timeout http-keep-alive 10s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response junk-response

frontend api
    bind 127.0.0.1:{port}
    default_backend prompter

backend prompter
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 3 rise 2 pool-purge-delay 2s
    http-response set-header X-Served-By %s
{servers}

listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
"""


def binary() -> str | None:
    return shutil.which("haproxy") or (shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin"))


class HAProxy:
    def __init__(self, servers: dict[str, int], workdir: Path) -> None:
        found = binary()
        if found is None:
            raise RuntimeError("haproxy is not installed (Debian: apt-get install haproxy)")
        self.binary, self.servers, self.workdir = found, servers, workdir
        self.port, self.stats_port = free_port(), free_port()
        self.config = workdir / "haproxy.cfg"
        self.log = workdir / "haproxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HAProxy:
        lines = "\n".join(f"    server {name} 127.0.0.1:{port} check" for name, port in self.servers.items())
        self.config.write_text(CONFIG.format(port=self.port, stats_port=self.stats_port, servers=lines))
        check = subprocess.run([self.binary, "-c", "-q", "-f", str(self.config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its config:\n{check.stdout}{check.stderr}")
        # -db: stay in the foreground, no daemon; its own stats page tells us when the backends are up.
        self.process = processes.spawn([self.binary, "-db", "-f", str(self.config)], self.log)
        processes.wait_until(self._answers, "haproxy's stats page", 15, self.log)
        return self

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, f"haproxy exited\n{processes.tail(self.log)}"
        try:
            return httpx.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def server_stats(self) -> dict[str, dict[str, str]]:
        """The backend's servers as HAProxy's stats CSV reports them: status, wretr (retries), wredis (redispatches),
        econ/eresp (connection/response errors), stot (sessions)."""
        text = httpx.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=5).text.lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {row["svname"]: row for row in rows if row["pxname"] == "prompter" and row["svname"] in self.servers}

    def status(self, server: str) -> str:
        return self.server_stats()[server]["status"]

    def wait_all_up(self, timeout_s: float = 30) -> None:
        processes.wait_until(
            lambda: all(row["status"] == "UP" for row in self.server_stats().values()),
            "every replica UP in haproxy",
            timeout_s,
            self.log,
        )

    def stop(self) -> None:
        processes.stop(self.process)
        self.process = None
