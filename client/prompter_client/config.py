"""Client settings: constructor arguments first, then PROMPTER_* environment variables, then defaults.

A bad value stops the client at construction with one line naming the variable, the value and what is allowed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASE_URL = "http://localhost:8000"
DEFAULT_TTL_S = 60.0
DEFAULT_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ClientConfig:
    base_url: str
    api_key: str | None
    org_id: str | None
    workspace_id: str | None
    cache_ttl_s: float
    timeout_s: float
    cache_file: Path | None
    # Background refresh back-off after a failure: first wait, doubling per failure up to the max (with jitter).
    retry_min_s: float
    retry_max_s: float


def _seconds(name: str, value: float | str | None, env: str, default: float, *, positive: bool) -> float:
    source = name
    if value is None:
        raw = os.environ.get(env)
        if raw is None or raw.strip() == "":
            return default
        value, source = raw, env
    allowed = "a number > 0" if positive else "a number >= 0 (0 disables the cache)"
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{source}={value!r} is not a number of seconds; allowed: {allowed}") from None
    if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
        raise ValueError(f"{source}={value!r} is out of range; allowed: {allowed}")
    return seconds


def _text(value: str | None, env: str) -> str | None:
    value = value if value is not None else os.environ.get(env)
    return value or None


def load_config(
    *,
    base_url: str | None,
    api_key: str | None,
    org_id: str | None,
    workspace_id: str | None,
    cache_ttl_s: float | None,
    timeout_s: float | None,
    cache_file: str | os.PathLike[str] | None,
    retry_min_s: float,
    retry_max_s: float,
) -> ClientConfig:
    url = _text(base_url, "PROMPTER_BASE_URL") or DEFAULT_BASE_URL
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base_url={url!r} is not an http(s) URL; allowed: e.g. http://localhost:8000")
    if not 0 < retry_min_s <= retry_max_s:
        raise ValueError(f"retry_min_s={retry_min_s!r}, retry_max_s={retry_max_s!r}; allowed: 0 < min <= max")
    return ClientConfig(
        base_url=url.rstrip("/"),
        api_key=_text(api_key, "PROMPTER_API_KEY"),
        org_id=_text(org_id, "PROMPTER_ORG_ID"),
        workspace_id=_text(workspace_id, "PROMPTER_WORKSPACE_ID"),
        cache_ttl_s=_seconds("cache_ttl_s", cache_ttl_s, "PROMPTER_CACHE_TTL_S", DEFAULT_TTL_S, positive=False),
        timeout_s=_seconds("timeout_s", timeout_s, "PROMPTER_TIMEOUT_S", DEFAULT_TIMEOUT_S, positive=True),
        cache_file=Path(cache_file) if cache_file is not None else None,
        retry_min_s=retry_min_s,
        retry_max_s=retry_max_s,
    )
