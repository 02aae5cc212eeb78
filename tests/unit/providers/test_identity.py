"""The identity rules per provider (service/providers/identity.py), as the adapters and the fake LLM apply them."""

from __future__ import annotations

import pytest

from service.providers.fake import FakeProvider
from service.providers.identity import (
    anthropic_identity,
    canonical_model_id,
    google_identity,
    is_captured,
    openai_identity,
)


def test_openai_identity_is_the_fingerprint_and_the_response_model():
    assert openai_identity("fp_1", "gpt-4o-2024-08-06") == {"system_fingerprint": "fp_1", "model": "gpt-4o-2024-08-06"}
    # No fingerprint (vLLM, Ollama, LiteLLM): the dated model still tells builds apart.
    assert openai_identity(None, "gpt-4o-2024-08-06") != openai_identity(None, "gpt-4o-2024-11-20")
    # Same model, rotated fingerprint: different identities.
    assert openai_identity("fp_a", "gpt-4o") != openai_identity("fp_b", "gpt-4o")
    # Empty strings and non-strings are "not sent".
    assert openai_identity("", 7) == {"system_fingerprint": None, "model": None}


def test_gemini_model_ids_and_versions_drop_the_models_prefix():
    assert canonical_model_id("google", "models/gemini-2.0-flash") == "gemini-2.0-flash"
    assert canonical_model_id("google", "gemini-2.0-flash") == "gemini-2.0-flash"
    assert google_identity("models/gemini-2.0-flash-001") == google_identity("gemini-2.0-flash-001")
    assert google_identity(None) == {"modelVersion": None}
    # Only Gemini spells ids that way: other providers' ids are kept as given.
    assert canonical_model_id("openai", "models/x") == "models/x"


def test_anthropic_identity_is_the_response_model():
    assert anthropic_identity("claude-3-5-sonnet-20241022") == {"model": "claude-3-5-sonnet-20241022"}
    assert anthropic_identity(None) == {"model": None}


@pytest.mark.parametrize(
    "value, ok",
    [({"model": "m", "system_fingerprint": None}, True), ("fp_x", False), ({"model": 3}, False), (None, False)],
)
def test_only_well_formed_identities_are_read_back_from_the_cache(value, ok):
    assert is_captured(value) is ok


@pytest.mark.parametrize(
    "provider, model_id, identity",
    [
        ("openai", "gpt-4o", {"system_fingerprint": "fp_stub_1cffe337", "model": "gpt-4o"}),
        ("anthropic", "claude-sonnet-4", {"model": "claude-sonnet-4"}),
        ("google", "models/gemini-2.0-flash", {"modelVersion": "gemini-2.0-flash-stub-001"}),
    ],
)
async def test_the_fake_llm_reports_identities_by_the_same_rules(provider, model_id, identity):
    completion = await FakeProvider(provider).probe(model_id, None)  # type: ignore[arg-type]
    assert completion.identity == identity
