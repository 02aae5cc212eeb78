"""Swagger UI works offline: /schema names no URL outside the server, and every asset it names is served by it."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.http.swagger_ui import ASSETS_DIR
from service.settings import Settings
from tests.conftest import need
from tests.support import browser
from tests.support.live_server import LiveServer

EXTERNAL = re.compile(rb"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_swagger_ui_loads_nothing_from_another_host(make_client: Callable[..., TestClient], path: str) -> None:
    client = make_client()
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not EXTERNAL.search(page.content), "the page loads something from another host"
    assert b"validatorUrl: null" in page.content, "the document would be sent to validator.swagger.io"
    parser = _Assets()
    parser.feed(page.text)
    assert len(parser.urls) >= 4, parser.urls  # stylesheet, icon, bundle, standalone preset
    kinds = {"js": "javascript", "css": "text/css", "png": "image/png"}
    for url in parser.urls:
        assert url.startswith("/schema/static/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert kinds[url.rsplit(".", 1)[1]] in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 100, url
    bundle = client.get("/schema/static/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle


def test_the_assets_are_not_in_the_openapi_document(make_client: Callable[..., TestClient]) -> None:
    document = make_client().get("/schema/openapi.json").json()
    assert not [p for p in document["paths"] if p.startswith("/schema")]


def test_an_unknown_asset_is_a_json_404(make_client: Callable[..., TestClient]) -> None:
    response = make_client().get("/schema/static/nope.js")
    assert response.status_code == 404
    assert response.json()["error"]


def test_the_package_ships_the_assets() -> None:
    """`pip install .` (the Docker image) must carry the files, not only a checkout."""
    repo = Path(__file__).resolve().parents[2]
    package_data = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "http/static/swagger-ui/*" in package_data["service"]
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "VERSION"} <= {p.name for p in ASSETS_DIR.iterdir()}


def test_swagger_ui_renders_in_chromium_with_no_route_to_the_internet(tmp_path: Path, sqlite_url: str) -> None:
    """The real page in Debian's Chromium, every non-loopback request sent to a dead proxy: it still renders."""
    reason = browser.missing()
    if reason:
        need(reason)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Chromium sends loopback requests direct and everything else to the proxy, here a port nobody listens on.
    offline = ("--proxy-server=http://127.0.0.1:9",)
    app = create_app(Settings(db_url=sqlite_url, db_auto_migrate=True))
    with LiveServer(app) as base_url, browser.chromium(tmp_path / "profile", extra_flags=offline) as chrome:
        chrome.get(f"{base_url}/schema")
        WebDriverWait(chrome, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
        assert "Prompter" in chrome.find_element(By.CSS_SELECTOR, ".info .title").text
        assert len(chrome.find_elements(By.CSS_SELECTOR, ".opblock")) > 10
