"""The prompt version key: what a version is pinned to, as one sha256."""

from __future__ import annotations

from typing import Any

from service.db.hashing import sha256_key


def params_key(params: dict[str, Any], bundle: dict[str, Any] | None = None) -> str:
    """The lineage key: params alone (as always) without a bundle, params and the canonical bundle with one."""
    if not bundle:
        return sha256_key(params)
    return sha256_key({"params": params, "bundle": bundle})


def prompt_version_key(
    *,
    content_hash: str,
    provider: str,
    model_id: str,
    params: dict[str, Any],
    captured: dict[str, Any],
    bundle: dict[str, Any] | None = None,
) -> str:
    """sha256 of the canonical JSON of (content_hash, provider, model_id, params, captured identity) and, when the
    version has tools, tool_choice or a response_format, of that bundle too (service/versions/bundle.py). Without one
    the key is exactly what it was before bundles existed."""
    whole: dict[str, Any] = {
        "content_hash": content_hash,
        "provider": provider,
        "model_id": model_id,
        "params": params,
        "captured": captured,
    }
    if bundle:
        whole["bundle"] = bundle
    return sha256_key(whole)
