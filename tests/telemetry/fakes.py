"""A provider adapter that fails the way a real one does (ProviderError -> 502), to drive the probe-failure path."""

from __future__ import annotations

from service.http.errors import ProviderError
from service.providers.base import Completion, CompletionRequest, GenerationParams


class FailingProbeProvider:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        self.calls += 1
        raise ProviderError(f"{self.name} answered 503 for {model_id}; retry later.", code="provider_unavailable")

    async def complete(self, request: CompletionRequest) -> Completion:
        return await self.probe(request.model_id, request.params)

    async def aclose(self) -> None:
        return None
