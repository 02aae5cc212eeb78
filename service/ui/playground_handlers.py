"""The playground's page: GET shows the pickers, the variable fields and (after a run) the stored results; POST runs
and redirects to the results (so a reload shows them again instead of running again). Thin, as every UI handler."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.response import Redirect, Template

from service.auth.principal import TenantScope
from service.db.models import PromptResult
from service.db.transactions import READS_FIRST
from service.http.schemas import NO_NUL
from service.labels.handlers import Name
from service.ui.editing_handlers import form_fields
from service.ui.forms import PinFields
from service.ui.handlers import page
from service.ui.playground import SIDES, Choice, PlaygroundService, PlaygroundView

Pick = Annotated[str, Parameter(max_length=80, pattern=NO_NUL)]


def sides_of(values: dict[str, str]) -> dict[str, Choice | None]:
    return {side: Choice.parse(values.get(side, ""), PinFields.of(values, f"{side}_")) for side in SIDES}


def result_ids(text: str) -> list[int]:
    return [int(part) for part in text.split(",")[: len(SIDES)] if part.isdigit() and len(part) < 19]


def playground_url(
    request: Request[Any, Any, Any],
    name: str,
    tenant: TenantScope,
    sides: dict[str, Choice | None],
    results: list[PromptResult],
) -> str:
    """The page of the runs just made: their results and the same choices (reloading it runs nothing)."""
    query: dict[str, str] = {}
    if not request.app.state.runtime.settings.auth.required:  # with auth off the tenant travels in the address
        query["org_id"], query["workspace_id"] = tenant.pair()
    for side, choice in sides.items():
        if choice is not None:
            query[side] = choice.key
            if choice.kind == "revision":
                query.update(choice.pin.query(f"{side}_"))
    query["results"] = ",".join(str(result.id) for result in results)
    return f"/ui/prompts/{quote(name, safe='')}/playground?{urlencode(query)}#outcomes"


class PlaygroundController(Controller):
    path = "/prompts/{name:str}/playground"
    include_in_schema = False

    @get("/", name="ui:playground")
    async def playground(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        playground: NamedDependency[PlaygroundService],
        tenant: NamedDependency[TenantScope],
        results: Annotated[str, Parameter(max_length=60, pattern=NO_NUL)] = "",
    ) -> Template:
        query = {key: value for key, value in request.query_params.items() if isinstance(value, str)}
        view = await playground.page(name, tenant, sides_of(query), result_ids=result_ids(results))
        return page(request, "playground.html", view=view)

    @post("/", status_code=200, opt={READS_FIRST: True})
    async def run(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        playground: NamedDependency[PlaygroundService],
        tenant: NamedDependency[TenantScope],
    ) -> Template | Redirect:
        fields = await form_fields(request)
        sides = sides_of(fields)
        if fields.get("action") != "run":  # another pick: the fields of the chosen revisions, values kept
            return page(request, "playground.html", view=await playground.page(name, tenant, sides, values=fields))
        outcome = await playground.run(name, tenant, sides, fields)
        if isinstance(outcome, PlaygroundView):
            return page(request, "playground.html", status_code=422, view=outcome)
        return Redirect(playground_url(request, name, tenant, sides, outcome), status_code=303)
