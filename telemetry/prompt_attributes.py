"""Span attribute names that tie a GenAI span to a prompt version, as the server reads them from OTLP exports
(service/observations/otlp.py). prompter_client writes the same names (client/prompter_client/attributes.py; a test
keeps the two equal). The GenAI names come from the semantic-conventions package, never from string literals."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_OPENAI_RESPONSE_SYSTEM_FINGERPRINT,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM,
    GEN_AI_USAGE_COMPLETION_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GEN_AI_USAGE_PROMPT_TOKENS,
)
from opentelemetry.semconv._incubating.attributes.openai_attributes import OPENAI_RESPONSE_SYSTEM_FINGERPRINT
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE

PROMPT_NAME = "prompter.prompt.name"
PROMPT_LABEL = "prompter.prompt.label"
PROMPT_VERSION_ID = "prompter.prompt.version_id"
# Google's identity field has no semantic-convention attribute (gen_ai.response.model carries it for Gemini).
GOOGLE_MODEL_VERSION = "prompter.google.response.model_version"

# Where each fact may be found, first match wins (current names before deprecated ones).
PROVIDER = (GEN_AI_PROVIDER_NAME, GEN_AI_SYSTEM)
REQUEST_MODEL = (GEN_AI_REQUEST_MODEL,)
RESPONSE_MODEL = (GEN_AI_RESPONSE_MODEL,)
SYSTEM_FINGERPRINT = (OPENAI_RESPONSE_SYSTEM_FINGERPRINT, GEN_AI_OPENAI_RESPONSE_SYSTEM_FINGERPRINT)
INPUT_TOKENS = (GEN_AI_USAGE_INPUT_TOKENS, GEN_AI_USAGE_PROMPT_TOKENS)
OUTPUT_TOKENS = (GEN_AI_USAGE_OUTPUT_TOKENS, GEN_AI_USAGE_COMPLETION_TOKENS)
FINISH_REASONS = (GEN_AI_RESPONSE_FINISH_REASONS,)
ERROR = (ERROR_TYPE,)

# gen_ai.provider.name / gen_ai.system values -> Prompter's provider names.
PROVIDER_ALIASES: dict[str, str] = {
    "openai": "openai",
    "azure.ai.openai": "openai",
    "az.ai.openai": "openai",
    "anthropic": "anthropic",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "gemini": "google",
    "vertex_ai": "google",
    "google": "google",
}
