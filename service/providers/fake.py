"""The built-in fake LLM of the design note: deterministic, offline, shaped like each provider's real metadata.

openai    -> system_fingerprint = "fp_stub_" + sha256("openai:" + model_id)[:8], model = model_id
google    -> modelVersion       = "<model_id>-stub-001"
anthropic -> model              = model_id
`identity_overrides` (PROMPTER_FAKE_IDENTITY) replaces the reported value (fingerprint / modelVersion / model) per
provider, to demonstrate drift. The identity dict itself follows the real rules (service/providers/identity.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from service.providers.base import Completion, CompletionRequest, GenerationParams
from service.providers.identity import anthropic_identity, canonical_model_id, google_identity, openai_identity

PROBE_PROMPT = "ping"


def _hash8(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def stub_identity(provider: str, model_id: str) -> str:
    if provider == "openai":
        return f"fp_stub_{_hash8('openai:' + model_id)}"
    if provider == "google":
        return f"{model_id}-stub-001"
    return model_id


class FakeProvider:
    def __init__(self, name: str, identity_overrides: Mapping[str, str] | None = None) -> None:
        self.name = name
        self._overrides = dict(identity_overrides or {})

    def set_identity(self, identity: str | None) -> None:
        """Change the identity this fake reports from now on (None restores the stub)."""
        if identity is None:
            self._overrides.pop(self.name, None)
        else:
            self._overrides[self.name] = identity

    def _identity(self, model_id: str) -> str:
        return self._overrides.get(self.name) or stub_identity(self.name, model_id)

    async def complete(self, request: CompletionRequest) -> Completion:
        text = f"[fake {self.name}:{request.model_id}] {_hash8(request.prompt)} " + request.prompt[:200]
        if request.params.max_tokens is not None:
            text = " ".join(text.split()[: max(1, request.params.max_tokens)])
        return self._completion(request.model_id, request.prompt, text)

    async def probe(self, model_id: str, params: GenerationParams) -> Completion:
        return self._completion(model_id, PROBE_PROMPT, "pong")

    def _completion(self, model_id: str, prompt: str, text: str) -> Completion:
        model_id = canonical_model_id(self.name, model_id)
        reported = self._identity(model_id)
        metadata: dict[str, Any] = {"fake": True}
        if self.name == "openai":
            metadata.update(system_fingerprint=reported, model=model_id)
            identity, response_model = openai_identity(reported, model_id), model_id
        elif self.name == "google":
            metadata["modelVersion"] = reported
            identity, response_model = google_identity(reported), model_id
        else:
            metadata["model"] = reported
            identity, response_model = anthropic_identity(reported), reported
        return Completion(
            text=text,
            response_model=response_model,
            identity=identity,
            input_tokens=len(prompt.split()),
            output_tokens=len(text.split()),
            metadata=metadata,
            system_fingerprint=reported if self.name == "openai" else None,
        )

    async def aclose(self) -> None:
        return None
