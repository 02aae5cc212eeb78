"""The UI's forms for retiring prompts: archive and unarchive a prompt, a revision or a version (a `write` key), and
delete a prompt after a confirmation page where the person types its name (an `admin` key). Plain CSRF-protected
forms that post and redirect back (post/redirect/get), so everything works without JavaScript. The rules are the
archive service's own (service/archive/service.py): a refused archive shows the UI's error page with the API's detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from msgspec import Struct

from service.archive.service import RetireService
from service.auth.guard import current_principal
from service.auth.principal import TenantScope
from service.errors import NotFound
from service.http.schemas import reject_nul
from service.labels.handlers import Name

# The query parameter of the prompt list and the prompt page that shows archived things too.
INCLUDE_ARCHIVED = "include_archived"


@dataclass(frozen=True, slots=True)
class RetireView:
    """What the prompt page shows about retiring: the name's state and which buttons the caller gets."""

    archived_at: datetime | None
    include_archived: bool
    may_archive: bool
    may_delete: bool


async def retire_view(retire: RetireService, name: str, *, tenant: TenantScope, include_archived: bool) -> RetireView:
    state = await retire.name_state(name, tenant=tenant)
    return RetireView(state.archived_at, include_archived, retire.may_archive, retire.may_delete)


class BackForm(Struct):
    """An archive button's form: `back` is the prompt page to return to."""

    back: str = ""

    def __post_init__(self) -> None:
        reject_nul(back=self.back)


class DeleteForm(Struct):
    confirm: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        reject_nul(confirm=self.confirm, reason=self.reason)


Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def _back(request: Request[Any, Any, Any], name: str, anchor: str = "") -> Redirect:
    query = f"?{request.url.query}" if request.url.query else ""
    return Redirect(f"/ui/prompts/{quote(name, safe='')}{query}{anchor}", status_code=303)


class RetireUIController(Controller):
    path = "/"
    include_in_schema = False

    @post("/prompts/{name:str}/archive", status_code=303)
    async def archive_prompt(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        retire: NamedDependency[RetireService],
        tenant: NamedDependency[TenantScope],
    ) -> Redirect:
        await retire.archive_name(name, tenant=tenant)
        return _back(request, name)

    @post("/prompts/{name:str}/unarchive", status_code=303)
    async def unarchive_prompt(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        retire: NamedDependency[RetireService],
        tenant: NamedDependency[TenantScope],
    ) -> Redirect:
        await retire.unarchive_name(name, tenant=tenant)
        return _back(request, name)

    @post("/revisions/{template_id:int}/{action:str}", status_code=303)
    async def archive_revision(
        self,
        request: Request[Any, Any, Any],
        template_id: FromPath[int],
        action: FromPath[str],
        retire: NamedDependency[RetireService],
    ) -> Redirect:
        template = await retire.archive_revision(template_id, archived=_archiving(action))
        return _back(request, template.name, f"#revision-{template.revision}")

    @post("/versions/{version_id:int}/{action:str}", status_code=303)
    async def archive_version(
        self,
        request: Request[Any, Any, Any],
        version_id: FromPath[int],
        action: FromPath[str],
        data: Annotated[BackForm, Form],
        retire: NamedDependency[RetireService],
    ) -> Redirect:
        await retire.archive_version(version_id, archived=_archiving(action))
        return _back(request, data.back, f"#version-{version_id}")

    @get("/prompts/{name:str}/delete", name="ui:delete-prompt")
    async def confirm_delete(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        retire: NamedDependency[RetireService],
        tenant: NamedDependency[TenantScope],
    ) -> Template:
        state = await retire.name_state(name, tenant=tenant)  # 404 for an unknown (or another tenant's) prompt
        return Template(
            template_name="retire_delete.html",
            context={"principal": current_principal(request), "state": state, "may_delete": retire.may_delete},
        )

    @post("/prompts/{name:str}/delete", status_code=303)
    async def delete_prompt(
        self,
        request: Request[Any, Any, Any],
        name: Name,
        data: Annotated[DeleteForm, Form],
        retire: NamedDependency[RetireService],
        tenant: NamedDependency[TenantScope],
    ) -> Redirect:
        record = await retire.delete_name(name, tenant=tenant, confirm=data.confirm, reason=data.reason or None)
        query = dict(request.query_params) | {"deleted": record.name}
        return Redirect(f"/ui?{urlencode(query)}", status_code=303)


def _archiving(action: str) -> bool:
    if action not in ("archive", "unarchive"):
        raise NotFound(f"No UI action {action!r}: use archive or unarchive.", code="not_found")
    return action == "archive"
