"""Who is calling: the tenant and role an API key grants, and the checks that keep tenants apart."""

from __future__ import annotations

from dataclasses import dataclass

from service.errors import Forbidden, Unprocessable

# Ordered by power: each role may do everything the one before it may. `admin` may also move protected labels.
# `ingest` stands apart: it may report observations (POST /api/observations, POST /v1/traces) and nothing else - not
# even read - so a key baked into every application instance exposes no prompt.
ROLES = ("read", "write", "admin", "ingest")
INGEST_ROLE = "ingest"


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: str
    workspace_id: str
    role: str
    key_id: str

    @property
    def can_write(self) -> bool:
        return self.role in ("write", "admin")

    @property
    def can_ingest(self) -> bool:
        return self.role in ("write", "admin", INGEST_ROLE)

    @property
    def ingest_only(self) -> bool:
        return self.role == INGEST_ROLE

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def owns(self, org_id: str, workspace_id: str) -> bool:
        return (org_id, workspace_id) == (self.org_id, self.workspace_id)

    def check_named_tenant(self, org_id: str | None, workspace_id: str | None) -> None:
        """A body or query may repeat the key's own tenant; naming another one is refused."""
        if (org_id is not None and org_id != self.org_id) or (
            workspace_id is not None and workspace_id != self.workspace_id
        ):
            raise Forbidden(
                "This API key belongs to another org/workspace than the one named in the request. Omit org_id and "
                "workspace_id (they come from the key) or use a key of that workspace.",
                code="tenant_mismatch",
            )


@dataclass(frozen=True, slots=True)
class Tenant:
    """The (org, workspace) a request acts in."""

    org_id: str
    workspace_id: str


@dataclass(frozen=True, slots=True)
class TenantScope:
    """The caller and the tenant the request names (query or body), resolved by one rule (`resolve`) where a service
    needs it. The HTTP layer provides one per request (service/http/tenant.py); with auth on the tenant is the key's and
    the request may only repeat it, with auth off the request must name it."""

    principal: Principal | None = None
    org_id: str | None = None
    workspace_id: str | None = None

    def named(self, org_id: str | None, workspace_id: str | None) -> TenantScope:
        """The scope with a body's tenant fields, which win over the query's."""
        return TenantScope(self.principal, org_id or self.org_id, workspace_id or self.workspace_id)

    def resolve(self) -> Tenant:
        if self.principal is not None:
            self.principal.check_named_tenant(self.org_id, self.workspace_id)
            return Tenant(self.principal.org_id, self.principal.workspace_id)
        if self.org_id is None or self.workspace_id is None:
            # 422, not 400: the schema cannot require them (with auth on they come from the key), so a request
            # without them is schema-valid and refused by this server's configuration (service/http/openapi_exact.py).
            raise Unprocessable(
                "org_id and workspace_id are required when PROMPTER_AUTH=off (non-empty, at most 64 characters).",
                code="missing_tenant",
            )
        return Tenant(self.org_id, self.workspace_id)

    def pair(self) -> tuple[str, str]:
        tenant = self.resolve()
        return tenant.org_id, tenant.workspace_id

    def optional(self) -> tuple[str | None, str | None]:
        """For listings: the key's tenant with auth on; with auth off whatever was named (None = every tenant)."""
        if self.principal is not None:
            return self.pair()
        return self.org_id, self.workspace_id


def request_tenant(principal: Principal | None, org_id: str | None, workspace_id: str | None) -> tuple[str, str]:
    """The (org, workspace) a request acts in (TenantScope.resolve, the one rule)."""
    return TenantScope(principal, org_id, workspace_id).pair()
