from __future__ import annotations

from litestar import Controller, Router, get
from litestar.di import NamedDependency

from service.auth.principal import TenantScope
from service.labels.handlers import Label, Name
from service.rollouts.schemas import RolloutOut
from service.rollouts.service import RolloutService


class RolloutController(Controller):
    path = "/api/prompts"
    tags = ["labels"]

    @get(
        "/{name:str}/labels/{label:str}/rollout",
        summary="A split label's rollout: status, current step, each arm's numbers and the last decision",
    )
    async def rollout(
        self,
        name: Name,
        label: Label,
        rollouts: NamedDependency[RolloutService],
        tenant: NamedDependency[TenantScope],
    ) -> RolloutOut:
        return RolloutOut.of(await rollouts.state(name, label, tenant=tenant))


# The package's routes, mounted by service/app.py (its dependencies: service/rollouts/dependencies.py).
router = Router(path="/", route_handlers=[RolloutController])
