"""Debian's Chromium, headless, driven through Debian's chromedriver (Selenium): the real browser of the UI tests.

    with chromium(profile_dir) as driver:
        driver.get(f"{base_url}/ui")

Nothing is downloaded: the browser and driver are the distribution's packages (scripts/test installs them), and
Selenium is pointed at both paths so its own driver manager never runs. Each driver gets an empty profile directory
and no background traffic (component updates, sync, first-run pages)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
PAGE_LOAD_TIMEOUT_S = 30


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} not installed (apt-get install chromium chromium-driver; scripts/test does it)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install -e '.[test]')"
    return None


@contextmanager
def chromium(
    profile_dir: Path, *, width: int = 1280, height: int = 900, extra_flags: tuple[str, ...] = ()
) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile_dir.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *extra_flags, f"--user-data-dir={profile_dir}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


def full_page_screenshot(driver: Any, path: Path, *, min_height: int = 720) -> Path:
    """The whole page, not just the viewport: the window is fitted to the document's height for the shot."""
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, min_height)  # shrink first: a taller window would make the document as tall
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(400, min(int(height) + 120, 4000)))
    driver.execute_script("window.scrollTo(0, 0)")  # a #fragment URL would otherwise cut the page's top off
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path
