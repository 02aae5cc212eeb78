from __future__ import annotations

from typing import Annotated

from litestar import Controller, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter

from service.diffs.schemas import TemplateDiffOut, VersionDiffOut
from service.diffs.service import DiffService

Against = Annotated[int, Parameter(ge=1, le=2**63 - 1, description="The id to compare from.")]


class DiffController(Controller):
    path = "/api"
    tags = ["diffs"]

    @get("/prompt-templates/{template_id:int}/diff", summary="Unified diff from revision `against` to this one")
    async def template_diff(
        self, template_id: FromPath[int], against: Against, diffs: NamedDependency[DiffService]
    ) -> TemplateDiffOut:
        return TemplateDiffOut.of(await diffs.templates_diff(template_id, against))

    @get("/versions/{version_id:int}/diff", summary="Diff from version `against` to this one: body and pinned fields")
    async def version_diff(
        self, version_id: FromPath[int], against: Against, diffs: NamedDependency[DiffService]
    ) -> VersionDiffOut:
        return VersionDiffOut.of(await diffs.versions_diff(version_id, against))


# The package's routes, mounted by service/app.py (its dependencies: service/diffs/dependencies.py).
router = Router(path="/", route_handlers=[DiffController])
