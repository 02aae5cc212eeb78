"""API keys: create (the plain key is returned once), list, revoke, and authenticate a bearer token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import keys
from service.auth.principal import ROLES, Principal
from service.auth.repository import KeyRepository
from service.db.models import ApiKey, utcnow
from service.errors import InvalidInput, NotFound, Unauthorized


class AuthFailure(Unauthorized):
    """401 with a bounded `reason` (missing, malformed, unknown, revoked) for the failure counter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="prompter"'})
        self.reason = reason


class KeyService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = KeyRepository(session)

    async def create(
        self, *, org_id: str, workspace_id: str, role: str, label: str | None = None
    ) -> tuple[str, ApiKey]:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)} (got {role!r}).", code="invalid_role")
        for value, name in ((org_id, "org"), (workspace_id, "workspace")):
            if not 1 <= len(value) <= 64:
                raise InvalidInput(f"--{name} must be 1 to 64 characters.", code="invalid_tenant")
        token, parsed = keys.new_key()
        row = ApiKey(
            key_id=parsed.key_id,
            secret_hash=keys.hash_secret(parsed.secret),
            org_id=org_id,
            workspace_id=workspace_id,
            role=role,
            label=label,
        )
        return token, await self.repository.add(row)

    async def list(self) -> list[ApiKey]:
        return await self.repository.all()

    async def revoke(self, key_id: str, *, at: datetime | None = None) -> ApiKey:
        row = await self.repository.by_key_id(key_id)
        if row is None:
            raise NotFound(f"No API key with id {key_id!r}.", code="key_not_found")
        if row.revoked_at is None:
            row.revoked_at = at or utcnow()
            await self.repository.flush()
        return row

    async def authenticate(self, authorization: str | None) -> Principal:
        """Looked up on every request (no cache), so a revocation takes effect immediately."""
        if not authorization:
            raise AuthFailure("missing", "This endpoint needs `Authorization: Bearer <api key>`.")
        scheme, _, token = authorization.partition(" ")
        parsed = keys.parse(token.strip()) if scheme.lower() == "bearer" else None
        if parsed is None:
            raise AuthFailure("malformed", "The Authorization header must be `Bearer pk_<id>_<secret>`.")
        row = await self.repository.by_key_id(parsed.key_id)
        if row is None or not keys.secret_matches(parsed.secret, row.secret_hash):
            raise AuthFailure("unknown", "The API key is not valid. Create one with `prompter keys create`.")
        if row.revoked_at is not None:
            raise AuthFailure("revoked", "The API key has been revoked. Ask for a new key.")
        return Principal(org_id=row.org_id, workspace_id=row.workspace_id, role=row.role, key_id=row.key_id)
