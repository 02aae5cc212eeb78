"""LLM provider adapters and the registry that picks one per allow-listed provider name."""

from __future__ import annotations

from collections.abc import Mapping

from service.errors import Unprocessable
from service.providers.base import PROVIDERS, ProviderAdapter
from service.providers.fake import FakeProvider


class ProviderRegistry:
    def __init__(self, adapters: Mapping[str, ProviderAdapter]) -> None:
        self._adapters = dict(adapters)

    @classmethod
    def fakes(cls, identity_overrides: Mapping[str, str] | None = None) -> ProviderRegistry:
        return cls({name: FakeProvider(name, identity_overrides) for name in PROVIDERS})

    def get(self, provider: str) -> ProviderAdapter:
        adapter = self._adapters.get(provider)
        if adapter is None:
            raise Unprocessable(
                f"Unknown provider {provider!r}. Allowed providers: {', '.join(PROVIDERS)}.", code="unknown_provider"
            )
        return adapter

    async def aclose(self) -> None:
        for adapter in self._adapters.values():
            await adapter.aclose()
