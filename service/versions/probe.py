"""Capturing the model identity a provider really reports, with the cheapest call its adapter offers."""

from __future__ import annotations

from service.providers import ProviderRegistry
from service.providers.base import GenerationParams
from telemetry import Telemetry


class IdentityProbe:
    def __init__(self, providers: ProviderRegistry, telemetry: Telemetry) -> None:
        self.providers = providers
        self.telemetry = telemetry

    async def capture(self, provider: str, model_id: str, params: GenerationParams, *, refresh: bool = False) -> str | None:
        """The identity (fingerprint / modelVersion / model) the provider reports for `model_id` right now."""
        return await self.probe(provider, model_id, params)

    async def probe(self, provider: str, model_id: str, params: GenerationParams) -> str | None:
        adapter = self.providers.get(provider)
        self.telemetry.record_probe_attempt(provider, model_id)
        with self.telemetry.span("prompter.probe", **{"gen_ai.provider.name": provider, "gen_ai.request.model": model_id}):
            try:
                with self.telemetry.llm_call(provider, model_id) as call:
                    completion = await adapter.probe(model_id, params)
                    call.set_response(
                        model=completion.response_model,
                        input_tokens=completion.input_tokens,
                        output_tokens=completion.output_tokens,
                        system_fingerprint=completion.system_fingerprint,
                    )
            except Exception:
                self.telemetry.record_probe_failure(provider, model_id)
                raise
        return completion.identity
