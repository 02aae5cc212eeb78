"""Drive HTTP load from a separate process: Debian's `wrk` (a Lua script sets the method/body and prints a JSON
summary), or, only when wrk is missing, a small async httpx load generator run as its own process
(`python -m bench.load ...`). Both report the same fields: requests, duration, errors and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARK = "BENCH_JSON "

# wrk calls done() once at the end; percentiles are in microseconds. Non-2xx/3xx answers count as errors.status.
_DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\\n',
    "MARK", summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: str | None = None  # JSON text for POST


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rps": round(self.rps, 1),
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "p50_ms": round(self.p50_ms, 3),
            "p90_ms": round(self.p90_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
        }


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


class Wrk:
    name = "wrk"

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self._scripts: dict[Request, Path] = {}

    def version(self) -> str:
        out = subprocess.run([self.binary, "-v"], capture_output=True, text=True, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "wrk"

    def _script(self, request: Request) -> Path:
        if request not in self._scripts:
            lines = [f"wrk.method = {_lua_string(request.method)}"]
            if request.body is not None:
                lines += [f"wrk.body = {_lua_string(request.body)}", 'wrk.headers["Content-Type"] = "application/json"']
            path = self.workdir / f"request_{len(self._scripts)}.lua"
            path.write_text("\n".join(lines) + "\n" + _DONE_LUA.replace("MARK", MARK))
            self._scripts[request] = path
        return self._scripts[request]

    def run(self, base_url: str, request: Request, *, connections: int, seconds: float) -> LoadResult:
        command = [
            self.binary,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(self._script(request)),
            base_url + request.path,
        ]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
        line = next((x for x in out.stdout.splitlines() if x.startswith(MARK)), None)
        if line is None:
            raise RuntimeError(f"wrk gave no summary (exit {out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
        data = json.loads(line[len(MARK) :])
        errors = sum(data[key] for key in ("connect", "read", "write", "status", "timeout"))
        return LoadResult(
            data["requests"],
            data["duration_us"] / 1e6,
            errors,
            data["p50_us"] / 1e3,
            data["p90_us"] / 1e3,
            data["p99_us"] / 1e3,
            data["mean_us"] / 1e3,
        )


class HttpxLoad:
    """Fallback when wrk is not installed: the same measurement from a separate Python process."""

    name = "httpx (fallback: wrk not found)"

    def version(self) -> str:
        import httpx

        return f"httpx {httpx.__version__}"

    def run(self, base_url: str, request: Request, *, connections: int, seconds: float) -> LoadResult:
        command = [
            sys.executable,
            "-m",
            "bench.load",
            "--url",
            base_url + request.path,
            "--method",
            request.method,
            "--connections",
            str(connections),
            "--seconds",
            str(seconds),
        ]
        if request.body is not None:
            command += ["--body", request.body]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
        data = json.loads(out.stdout.strip().splitlines()[-1])
        return LoadResult(**data)


def load_generator(workdir: Path | None = None) -> Wrk | HttpxLoad:
    binary = wrk_path()
    if binary is None:
        return HttpxLoad()
    return Wrk(binary, workdir or Path(tempfile.mkdtemp(prefix="bench-wrk-")))


# -- the httpx fallback's worker process ------------------------------------------------------------------------------
async def _drive(url: str, method: str, body: str | None, connections: int, seconds: float) -> LoadResult:
    import httpx

    latencies: list[float] = []
    errors = 0
    headers = {"content-type": "application/json"} if body is not None else {}
    content = body.encode() if body is not None else None
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.request(method, url, content=content, headers=headers)
                    if response.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e3 if latencies else 0.0

    mean = sum(latencies) / len(latencies) * 1e3 if latencies else 0.0
    return LoadResult(len(latencies), elapsed, errors, pct(50), pct(90), pct(99), mean)


def main() -> None:
    parser = argparse.ArgumentParser(description="httpx load generator (the fallback when wrk is missing)")
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    result = asyncio.run(_drive(args.url, args.method, args.body, args.connections, args.seconds))
    print(
        json.dumps(
            {
                "requests": result.requests,
                "seconds": result.seconds,
                "errors": result.errors,
                "p50_ms": result.p50_ms,
                "p90_ms": result.p90_ms,
                "p99_ms": result.p99_ms,
                "mean_ms": result.mean_ms,
            }
        )
    )


if __name__ == "__main__":
    main()
