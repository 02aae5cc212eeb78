"""Prompter: a prompt-template registry with provider-pinned versions, model-drift detection and runs."""

# The one source of the package version: pyproject.toml reads it (setuptools dynamic version), and
# `prompter --version`, /healthz, the OpenAPI document and the provider User-Agent print it. 0.x semantic versioning:
# a minor release may change the API; CHANGELOG.md says what changed.
__version__ = "0.1.0"
