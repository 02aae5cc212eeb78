"""What the probe-cache tests share: a fake LLM that counts its probes, and reading Prometheus samples off /metrics.

No `__init__.py` next to this file on purpose: with one, pytest would put tests/integration/ on sys.path and this
directory would shadow the `redis` package.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from service.http.errors import ProviderError
from service.providers import ProviderRegistry
from service.providers.base import PROVIDERS, Completion, CompletionRequest, GenerationParams
from service.providers.fake import FakeProvider

TEMPLATE = {"org_id": "acme", "workspace_id": "support", "name": "greet", "body": "Hello {{ name }}!"}


class CountingProvider(FakeProvider):
    """The built-in fake LLM, counting `probe()` and `complete()` calls (`calls` = both: what the provider bills). `delay_s` makes a probe take as long as a real provider's,
    `null_identity` makes it report no identity, `fail_next` makes the next N probes fail with a provider error."""

    def __init__(self, name: str, *, delay_s: float = 0.0, null_identity: bool = False) -> None:
        super().__init__(name)
        self.probes = 0
        self.completions = 0
        self.delay_s = delay_s
        self.null_identity = null_identity
        self.fail_next = 0

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        self.probes += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ProviderError(f"{self.name} probe failed (test)", code="provider_error")
        return self._maybe_null(await super().probe(model_id, params))

    async def complete(self, request: CompletionRequest) -> Completion:
        self.completions += 1
        return self._maybe_null(await super().complete(request))

    @property
    def calls(self) -> int:
        return self.probes + self.completions

    def _maybe_null(self, completion: Completion) -> Completion:
        if not self.null_identity:
            return completion
        return dataclasses.replace(completion, identity=dict.fromkeys(completion.identity))


def counting_registry(**options: object) -> tuple[ProviderRegistry, dict[str, CountingProvider]]:
    adapters = {name: CountingProvider(name, **options) for name in PROVIDERS}  # type: ignore[arg-type]
    return ProviderRegistry(adapters), adapters


def sample(exposition: str, name: str) -> float:
    """Sum of the samples called `name` (the contract's series carry only service/env labels here)."""
    total = 0.0
    found = False
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name:
                total += s.value
                found = True
    if not found:
        raise AssertionError(f"{name} is not in the exposition")
    return total


def wait_until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.02) -> float:
    """Poll `condition` until it holds; returns the seconds it took. Fails the test when it never does."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s:.2f}s")
        time.sleep(step_s)
    return time.monotonic() - start
