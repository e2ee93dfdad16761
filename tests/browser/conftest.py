"""Fixtures of the browser tests: Debian's chromium driven by Playwright, a real `viper run`,
pages that record console errors, and the artifacts folder for screenshots.

Without chromium (or the playwright package) the tests are skipped with the reason, except
under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.server import ViperProcess, seed_candles
from tests.conftest import REPO

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("VIPER_TEST_ARTIFACTS", REPO / "test-artifacts"))


def _chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install --group test)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        _missing("Debian's chromium is not installed (`make chromium` installs it)")
    browser = playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def viper(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[ViperProcess]:
    """`viper run` with authentication on (first-start admin token), seeded candles."""
    workdir = tmp_path_factory.mktemp("viper")
    seed_candles(workdir)
    server = ViperProcess(workdir)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def open_viper(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[ViperProcess]:
    """`viper run` with authentication switched off."""
    server = ViperProcess(tmp_path_factory.mktemp("viper-open"), auth=False)
    yield server
    server.stop()


class Console:
    """What a page wrote to its console as errors, and the exceptions it raised."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _message(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} at {message.location.get('url', '')}")


def new_page(browser: Any, **options: Any) -> tuple[Any, Any, Console]:
    """A fresh context (its own cookies) and page, and the page's console errors."""
    context = browser.new_context(**{"viewport": {"width": 1440, "height": 900}, **options})
    context.set_default_timeout(15_000)
    page = context.new_page()
    return context, page, Console(page)


def sign_in(context: Any, server: ViperProcess) -> None:
    """A dashboard session in `context`, opened through the API as the form does."""
    if server.token is None:
        return
    answer = context.request.post(f"{server.base}/auth/login", data={"token": server.token})
    assert answer.ok, answer.text()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """A PNG of the page in the artifacts folder."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_until(page: Any, check: Any, *, timeout: float = 10.0, what: str = "") -> None:
    """Polls `check()` (Python side: the page's CSP forbids evaluated strings) until true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting for {what or check}")
        page.wait_for_timeout(100)
