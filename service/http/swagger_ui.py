"""Swagger UI that works offline: its script, stylesheet and icon are served by the app itself, never from a CDN.

Litestar's SwaggerRenderPlugin points the page at cdn.jsdelivr.net by default, so behind a strict proxy or without
internet access /schema is a blank page. The assets are swagger-ui-dist's release files, vendored in
static/swagger-ui/ (with its LICENSE, NOTICE and VERSION; `scripts/update-swagger-ui` replaces them with another
release), and served under /schema/static/. tests/e2e/test_swagger_offline.py fails on any URL the page names that is not ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS_DIR = Path(__file__).parent / "static" / "swagger-ui"
ASSETS_PATH = "/schema/static"


def swagger_assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[ASSETS_DIR],
        name="swagger-ui-assets",
        include_in_schema=False,
        # The files change only with a release of Prompter; an hour keeps a reload cheap without pinning stale assets.
        cache_control=CacheControlHeader(max_age=3600),
    )


class OfflineSwaggerRenderPlugin(SwaggerRenderPlugin):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
            **kwargs,
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        page = super().render(request, openapi_schema)
        # Swagger UI would otherwise send the document to validator.swagger.io for its "valid" badge.
        return page.replace(b"dom_id: '#swagger-container',", b"dom_id: '#swagger-container', validatorUrl: null,", 1)
