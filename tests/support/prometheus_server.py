"""Debian's `prometheus` binary scraping given `prompter serve` targets, with /metrics basic auth as in compose."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import yaml

from service.cli.dashboard_check import PrometheusClient
from tests.support import processes
from tests.support.ports import free_port


def binary() -> str | None:
    return shutil.which("prometheus")


class PrometheusServer:
    def __init__(
        self,
        targets: list[str],
        workdir: Path,
        *,
        job: str = "prompter",
        scrape_interval_s: float = 1.0,
        basic_auth: tuple[str, str] | None = None,
    ) -> None:
        found = binary()
        if found is None:
            raise RuntimeError("prometheus is not installed (Debian: apt-get install prometheus)")
        self.binary, self.targets, self.workdir, self.job = found, targets, workdir, job
        self.scrape_interval_s, self.basic_auth = scrape_interval_s, basic_auth
        self.port = free_port()
        self.log = workdir / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.client: PrometheusClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        interval = f"{int(self.scrape_interval_s * 1000)}ms"
        job: dict[str, Any] = {
            "job_name": self.job,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": self.targets}],
        }
        if self.basic_auth is not None:
            (self.workdir / "metrics_password").write_text(self.basic_auth[1])
            job["basic_auth"] = {
                "username": self.basic_auth[0],
                "password_file": str(self.workdir / "metrics_password"),
            }
        config = {
            "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
            "scrape_configs": [job],
        }
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        command = [
            self.binary,
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        self.process = processes.spawn(command, self.log)
        processes.wait_until(self._ready, "prometheus /-/ready", 30, self.log)
        self.client = PrometheusClient(self.url)
        return self

    def _ready(self) -> bool:
        assert self.process is not None and self.process.poll() is None, (
            f"prometheus exited\n{processes.tail(self.log)}"
        )
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def value(self, promql: str) -> float | None:
        assert self.client is not None
        result = self.client.query(promql)
        if isinstance(result, float):
            return result
        return float(result[0]["value"][1]) if result else None

    def vector(self, promql: str) -> list[dict[str, Any]]:
        assert self.client is not None
        result = self.client.query(promql)
        assert isinstance(result, list), promql
        return result

    def wait_for_scrapes_after(self, moment: float, timeout_s: float = 30) -> None:
        """Until every target has been scraped successfully after `moment` (a time.time()), so each saw all before."""

        def scraped() -> bool:
            # timestamp() of a raw selector is the scrape's time; of an expression (`up == 1`) it is the query's time.
            when = self.vector(f'timestamp(up{{job="{self.job}"}})')
            up = self.vector(f'up{{job="{self.job}"}} == 1')
            fresh = len(when) == len(self.targets) and all(float(s["value"][1]) > moment for s in when)
            return fresh and len(up) == len(self.targets)

        processes.wait_until(scraped, "a successful scrape of every target", timeout_s, self.log)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        processes.stop(self.process)
        self.process = None
