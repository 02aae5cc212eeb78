"""API key format: `pk_<key_id>_<secret>`. The key id finds the row; only sha256(secret) is stored.

The secret is 32 random bytes, so a fast hash is enough (no password-style stretching is needed for high-entropy
secrets), and comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "pk"
_FORMAT = re.compile(r"^pk_([A-Za-z0-9]{12})_([A-Za-z0-9_\-]{43})$")


@dataclass(frozen=True, slots=True)
class ParsedKey:
    key_id: str
    secret: str


def new_key() -> tuple[str, ParsedKey]:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}_{key_id}_{secret}", ParsedKey(key_id, secret)


def parse(token: str) -> ParsedKey | None:
    match = _FORMAT.match(token)
    return ParsedKey(match.group(1), match.group(2)) if match else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
