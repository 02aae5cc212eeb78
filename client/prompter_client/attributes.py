"""Every span attribute name prompter_client writes, in one place.

`prompter.prompt.*` name the prompt version a span used, so any tracing backend can group spans by it; the others are
the OpenTelemetry GenAI semantic conventions' own names for what the provider reported. Prompter's OTLP ingest
(`POST /v1/traces`) reads exactly these (the server's telemetry/prompt_attributes.py; a test keeps the two equal)."""

from __future__ import annotations

PROMPT_NAME = "prompter.prompt.name"
PROMPT_LABEL = "prompter.prompt.label"
PROMPT_VERSION_ID = "prompter.prompt.version_id"
# Gemini's `modelVersion` has no semantic-convention attribute of its own.
GOOGLE_MODEL_VERSION = "prompter.google.response.model_version"

# OpenTelemetry GenAI semantic conventions.
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT = "openai.response.system_fingerprint"
ERROR_TYPE = "error.type"

# Prompter's provider names -> gen_ai.provider.name values.
PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic", "google": "gcp.gemini"}
