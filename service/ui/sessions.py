"""The UI's server-side sessions: open at login, look up on every page, close at logout.

The browser's cookie holds a random 256-bit token; the database holds only its SHA-256 (table `ui_sessions`), so a
copy of the database cannot be replayed as cookies and no cookie ever carries an API key. Sessions live in the
database, not in process memory, so a browser can be served by any replica. A session ends at logout (its row is
deleted), when it expires (PROMPTER_UI_SESSION_TTL_S), or when its API key is revoked (the key is checked with it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.principal import Principal
from service.db.models import ApiKey, UISession, utcnow

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 64  # token_urlsafe(32) is 43 characters; anything longer is not ours and is not looked up


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def form_token(binding: str, secret: str | None) -> str:
    """The CSRF token of a session (or of the pre-login cookie): an HMAC of its token, so it is bound to that one
    session and changes when the session does. PROMPTER_UI_SECRET, when set, is mixed in as well."""
    key = f"{secret or ''}|{binding}".encode()
    return hmac.new(key, b"prompter-ui-form", hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionLookup:
    principal: Principal | None
    reason: str  # "ok", or why there is no principal: unknown, expired, revoked


class UISessionStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(self, key_id: str, ttl_s: float, *, now: datetime | None = None) -> str:
        """A new session for this key; returns the token for the cookie. Expired rows are swept on the way."""
        now = now or utcnow()
        await self.session.execute(delete(UISession).where(UISession.expires_at < now))
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self.session.add(
            UISession(
                token_hash=token_hash(token), key_id=key_id, created_at=now, expires_at=now + timedelta(seconds=ttl_s)
            )
        )
        await self.session.flush()
        return token

    async def close(self, token: str) -> None:
        if token and len(token) <= MAX_TOKEN_CHARS:
            await self.session.execute(delete(UISession).where(UISession.token_hash == token_hash(token)))
            await self.session.flush()

    async def find(self, token: str, *, now: datetime | None = None) -> SessionLookup:
        if len(token) > MAX_TOKEN_CHARS:
            return SessionLookup(None, "unknown")
        row = (
            await self.session.execute(
                select(UISession.expires_at, ApiKey)
                .join(ApiKey, ApiKey.key_id == UISession.key_id)
                .where(UISession.token_hash == token_hash(token))
            )
        ).first()
        if row is None:
            return SessionLookup(None, "unknown")
        expires_at, key = row
        if expires_at <= (now or utcnow()):
            return SessionLookup(None, "expired")
        if key.revoked_at is not None:
            return SessionLookup(None, "revoked")
        return SessionLookup(
            Principal(org_id=key.org_id, workspace_id=key.workspace_id, role=key.role, key_id=key.key_id), "ok"
        )
