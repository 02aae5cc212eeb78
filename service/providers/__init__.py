"""LLM provider adapters and the registry that picks one per allow-listed provider name.

A provider gets its real HTTP adapter when its key is configured (OPENAI_API_KEY, ANTHROPIC_API_KEY,
GOOGLE_API_KEY / GEMINI_API_KEY) and the built-in fake LLM otherwise, so the service runs with no keys at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from service.errors import Unprocessable
from service.providers.base import PROVIDERS, ProviderAdapter
from service.providers.fake import FakeProvider

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger("prompter.providers")


class ProviderRegistry:
    def __init__(self, adapters: Mapping[str, ProviderAdapter]) -> None:
        self._adapters = dict(adapters)

    @classmethod
    def fakes(cls, identity_overrides: Mapping[str, str] | None = None) -> ProviderRegistry:
        return cls({name: FakeProvider(name, identity_overrides) for name in PROVIDERS})

    @classmethod
    def from_settings(cls, settings: Settings, telemetry_handle: Any = None) -> ProviderRegistry:
        """Real adapters for the providers with a key, fakes for the rest; each HTTP client is instrumented."""
        from service.providers.anthropic import AnthropicProvider
        from service.providers.google import GoogleProvider
        from service.providers.http import HTTPPolicy
        from service.providers.openai import OpenAIProvider

        policy = HTTPPolicy.from_settings(settings)
        real: dict[str, tuple[str | None, str, Callable[[str, str, HTTPPolicy], Any]]] = {
            "openai": (settings.providers.openai_api_key, settings.providers.openai_base_url, OpenAIProvider),
            "anthropic": (
                settings.providers.anthropic_api_key,
                settings.providers.anthropic_base_url,
                AnthropicProvider,
            ),
            "google": (settings.providers.google_key, settings.providers.google_base_url, GoogleProvider),
        }
        adapters: dict[str, ProviderAdapter] = {}
        for name in PROVIDERS:
            key, base_url, build = real[name]
            if key:
                adapter = build(key, base_url, policy)
                if telemetry_handle is not None:
                    telemetry_handle.instrument_httpx(adapter.client)
                adapters[name] = adapter
            else:
                adapters[name] = FakeProvider(name, settings.providers.fake_identity_overrides)
        log.info(
            "LLM providers configured",
            # Host only: a base URL may carry userinfo, and the key itself is never logged.
            extra={"providers": {name: _host(real[name][1]) if real[name][0] else "fake" for name in PROVIDERS}},
        )
        return cls(adapters)

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


def _host(base_url: str) -> str:
    import httpx

    return httpx.URL(base_url).host or "?"
