from __future__ import annotations

from typing import Annotated

from litestar import Controller, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from service.auth.principal import TenantScope
from service.db.transactions import READS_FIRST
from service.http.pagination import DEFAULT_LIMIT
from service.idempotency import IdempotencyKeyHeader, IdempotencyService
from service.labels.handlers import LABEL_NAME, Name
from service.labels.schemas import LabelRun
from service.runs.schemas import ResultOut, ResultPage, RunRequest
from service.runs.service import RunService
from service.templates.service import TemplateService


class RunController(Controller):
    path = "/api"
    tags = ["runs"]

    @post(
        "/prompt-templates/{template_id:int}/run",
        status_code=201,
        summary="Render, call the LLM once, pin the version to the identity it reported, store the result",
        opt={READS_FIRST: True},
    )
    async def run_template(
        self,
        template_id: FromPath[int],
        data: JSONBody[RunRequest],
        templates: NamedDependency[TemplateService],
        runs: NamedDependency[RunService],
        idempotency: NamedDependency[IdempotencyService],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> ResultOut:
        async def run() -> ResultOut:
            template = await templates.get(template_id)
            bundle = runs.bundle(data.tools, data.tool_choice, data.response_format)
            return ResultOut.of(await runs.run(data.command(template, bundle)))

        return await idempotency.once(idempotency_key, data, run)

    @get("/prompt-templates/{template_id:int}/results", summary="List a template's results, newest first")
    async def list_results(
        self,
        template_id: FromPath[int],
        templates: NamedDependency[TemplateService],
        runs: NamedDependency[RunService],
        limit: Annotated[int, Parameter(ge=1, le=200)] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> ResultPage:
        page = await runs.list_for_template(await templates.get(template_id), limit=limit, cursor=cursor)
        return ResultPage([ResultOut.of(row) for row in page.items], page.next_cursor)

    @get("/prompt-results/{result_id:int}", summary="Get one result")
    async def get_result(self, result_id: FromPath[int], runs: NamedDependency[RunService]) -> ResultOut:
        return ResultOut.of(await runs.get(result_id))


class LabelRunController(Controller):
    """Running through a label: the label service resolves it, the run service runs it (its URL is the label's)."""

    path = "/api/prompts"
    tags = ["labels"]

    @post(
        "/{name:str}/run",
        status_code=201,
        summary="Run the version a label points at (default production): its provider, model and params",
        opt={READS_FIRST: True},
    )
    async def run_label(
        self,
        name: Name,
        data: JSONBody[LabelRun],
        runs: NamedDependency[RunService],
        idempotency: NamedDependency[IdempotencyService],
        tenant: NamedDependency[TenantScope],
        label: Annotated[str | None, Parameter(min_length=1, max_length=64, pattern=LABEL_NAME)] = None,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> ResultOut:
        async def run() -> ResultOut:
            result = await runs.run_label(
                name,
                label=label,
                variables=data.variables,
                tenant=tenant.named(data.org_id, data.workspace_id),
                key=data.key,
            )
            return ResultOut.of(result)

        return await idempotency.once(idempotency_key, data, run)


# The package's routes, mounted by service/app.py (its dependencies: service/runs/dependencies.py).
router = Router(path="/", route_handlers=[RunController, LabelRunController])
