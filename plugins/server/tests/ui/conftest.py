"""Browser fixtures: a real server seeded with real runs, and Debian's Chromium via Playwright.

Playwright never downloads a browser here: it launches the system Chromium
(``/usr/bin/chromium``; ``.ci/run`` installs it). Every page a test visits is checked for
console errors and uncaught exceptions, and screenshots go to ``tests/ui/screenshots/``
(git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trackline_server.testing import RunningServer, start_server

sys.path.insert(0, str(Path(__file__).parent))

from seed import Seeded, seed  # noqa: E402

CHROMIUM = os.environ.get("TRACKLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# Module scope: Playwright's sync API keeps an event loop running while it is open, which
# would stop other modules' tests from calling asyncio.run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with start_server(tmp_path_factory.mktemp("ui"), "--workers", "1") as server:
        yield server


@pytest.fixture(scope="module")
def seeded(ui_server: RunningServer) -> Seeded:
    return seed(ui_server.url)


class Page:
    """A Playwright page that records console errors; ``expect_errors`` allows known ones."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def expect_errors(self, pattern: str) -> None:
        """A failed request the page handles (a bad filter's 400) still logs a console line."""
        self.allowed.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def open(self, hash_path: str) -> Any:
        self.page.goto(f"{self.base_url}/#{hash_path}")
        self.page.wait_for_selector("header.top")
        return self.page

    def shot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def make_page(browser: Any, ui_server: RunningServer) -> Iterator[Any]:
    pages: list[Page] = []
    contexts: list[Any] = []

    def make(
        viewport: tuple[int, int] = (1280, 800),
        color_scheme: str = "light",
        locale: str = "en-US",
        base_url: str | None = None,
    ) -> Page:
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            color_scheme=color_scheme,
            locale=locale,
        )
        contexts.append(context)
        context.set_default_timeout(15_000)
        page = Page(context.new_page(), base_url or ui_server.url)
        pages.append(page)
        return page

    yield make
    try:
        for page in pages:
            assert not page.unexpected_errors(), f"console errors: {page.unexpected_errors()}"
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def ui(make_page: Any, seeded: Seeded) -> Page:
    return make_page()
