"""Capturing the model identity a provider really reports, with the cheapest call its adapter offers, through the Redis
probe cache when there is one (service/cache/probe_cache.py: TTL, single flight, bypass when Redis is down)."""

from __future__ import annotations

from functools import partial

from service.cache import ProbeCache
from service.providers import ProviderRegistry
from service.providers.base import GenerationParams
from service.providers.identity import Captured
from service.providers.observed import observed_call
from telemetry import Telemetry


class IdentityProbe:
    def __init__(self, providers: ProviderRegistry, telemetry: Telemetry, cache: ProbeCache | None = None) -> None:
        self.providers = providers
        self.telemetry = telemetry
        # Set by the app's lifespan when REDIS_URL is configured (the Redis client lives as long as the app runs).
        self.cache = cache

    async def capture(
        self, provider: str, model_id: str, params: GenerationParams, *, refresh: bool = False
    ) -> Captured:
        """The identity (service/providers/identity.py) the provider reports for `model_id`: from the probe cache
        when it holds one, else probed now. `refresh` skips the cached value, probes and overwrites it."""
        # The identity belongs to the model, not to one request's sampling params: one entry per (provider, model_id).
        probe = partial(self.probe, provider, model_id, params)
        if self.cache is None:
            return await probe()
        if refresh:
            return await self.cache.refresh(provider, model_id, probe)
        return await self.cache.get_or_probe(provider, model_id, probe)

    async def probe(self, provider: str, model_id: str, params: GenerationParams) -> Captured:
        adapter = self.providers.get(provider)
        with self.telemetry.probe(provider, model_id):
            completion = await observed_call(
                self.telemetry, provider, model_id, partial(adapter.probe, model_id, params)
            )
        return completion.identity
