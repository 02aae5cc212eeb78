"""The client writes the span attributes the server's OTLP ingest reads: the two modules name them identically (the
client cannot import the server's, and the server reads the GenAI names from the semantic-conventions package)."""

from __future__ import annotations

from prompter_client import attributes as client

from telemetry import prompt_attributes as server


def test_prompt_attribute_names_agree() -> None:
    assert client.PROMPT_NAME == server.PROMPT_NAME
    assert client.PROMPT_LABEL == server.PROMPT_LABEL
    assert client.PROMPT_VERSION_ID == server.PROMPT_VERSION_ID
    assert client.GOOGLE_MODEL_VERSION == server.GOOGLE_MODEL_VERSION


def test_the_client_writes_the_first_name_the_server_looks_for() -> None:
    assert client.GEN_AI_PROVIDER_NAME == server.PROVIDER[0]
    assert client.GEN_AI_REQUEST_MODEL == server.REQUEST_MODEL[0]
    assert client.GEN_AI_RESPONSE_MODEL == server.RESPONSE_MODEL[0]
    assert client.OPENAI_RESPONSE_SYSTEM_FINGERPRINT == server.SYSTEM_FINGERPRINT[0]
    assert client.GEN_AI_USAGE_INPUT_TOKENS == server.INPUT_TOKENS[0]
    assert client.GEN_AI_USAGE_OUTPUT_TOKENS == server.OUTPUT_TOKENS[0]
    assert client.GEN_AI_RESPONSE_FINISH_REASONS == server.FINISH_REASONS[0]
    assert client.ERROR_TYPE == server.ERROR[0]
    for provider, value in client.PROVIDER_NAMES.items():
        assert server.PROVIDER_ALIASES[value] == provider
