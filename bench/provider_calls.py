"""Provider calls per run, counted: the app in-process with a fake LLM that counts every call a provider would bill
(completions and probes), N runs without Redis and N with it. Not a timing: a count, reported beside the timings.

  python -m bench.provider_calls [--redis-url redis://...] [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from service.app import create_app
from service.providers import ProviderRegistry
from service.providers.base import PROVIDERS, Completion, CompletionRequest, GenerationParams
from service.providers.fake import FakeProvider
from service.settings import Settings

TEMPLATE = {"org_id": "bench", "workspace_id": "calls", "name": "greet", "body": "Hello {{ name }}!"}


class CountingProvider(FakeProvider):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.completions = 0
        self.probes = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        self.completions += 1
        return await super().complete(request)

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        self.probes += 1
        return await super().probe(model_id, params)


def count(runs: int, redis_url: str | None, workdir: Path) -> dict[str, Any]:
    fakes = {name: CountingProvider(name) for name in PROVIDERS}
    settings = Settings(
        db_url=f"sqlite:///{workdir}/calls-{'redis' if redis_url else 'none'}.db",
        db_auto_migrate=True,
        redis_url=redis_url,
        telemetry="off",
        log_level="WARNING",
    )
    with TestClient(create_app(settings, providers=ProviderRegistry(fakes))) as client:
        tid = client.post("/api/prompt-templates", json=TEMPLATE).json()["id"]
        statuses = [
            client.post(
                f"/api/prompt-templates/{tid}/run",
                json={"provider": "openai", "model_id": "gpt-4o", "variables": {"name": f"n{i}"}},
            ).status_code
            for i in range(runs)
        ]
    openai = fakes["openai"]
    return {
        "redis": bool(redis_url),
        "runs": runs,
        "ok": statuses.count(201),
        "completions": openai.completions,
        "probes": openai.probes,
        "calls_per_run": round((openai.completions + openai.probes) / max(1, runs), 3),
    }


def measure(redis_url: str | None, workdir: Path, runs: int = 50) -> list[dict[str, Any]]:
    rows = [count(runs, None, workdir)]
    if redis_url:
        rows.append(count(runs, redis_url, workdir))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.provider_calls", description=__doc__)
    parser.add_argument("--redis-url")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.redis_url, Path(tempfile.mkdtemp(prefix="prompter-calls-")), args.runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
