"""The prompt version key: what a version is pinned to, as one sha256."""

from __future__ import annotations

from typing import Any

from service.db.hashing import sha256_key


def params_key(params: dict[str, Any]) -> str:
    return sha256_key(params)


def prompt_version_key(
    *, content_hash: str, provider: str, model_id: str, params: dict[str, Any], captured: dict[str, Any]
) -> str:
    """sha256 of the canonical JSON of (content_hash, provider, model_id, params, captured identity)."""
    return sha256_key(
        {
            "content_hash": content_hash,
            "provider": provider,
            "model_id": model_id,
            "params": params,
            "captured": captured,
        }
    )
