"""The playground in this process (its page on a free port), and headless Chromium from the operating system's
packages driven by Playwright. No browser is ever downloaded: without /usr/bin/chromium the browser tests skip,
saying how to install it; `.ci/run` installs it, so CI never skips them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.playground.page import Playground
from bot.playground.stack import PlaygroundStack

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Where the tests save their screenshots: docs/images/ when docs/make-playground-screenshots.sh runs them.
SCREENSHOTS = os.environ.get("PLAYGROUND_SCREENSHOTS")


@pytest.fixture
def playground(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Playground]:
    """With the sample portfolio, unless a test asks for an empty one (`indirect` parameter False): faster."""
    sample = getattr(request, "param", True)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]  # the playground's own settings, not .env's
    served = Playground(partial(PlaygroundStack, settings, database=tmp_path / "playground.db", sample=sample),
                        host="127.0.0.1", port=0)
    served.start_in_thread()
    yield served
    served.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        how = "needs Chromium from the OS packages: sudo apt-get install -y chromium chromium-driver"
        if os.environ.get("CI") == "true":  # .ci/run installs it: a CI run never skips these
            pytest.fail(how)
        pytest.skip(how)
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install -e '.[test]'")
    sync_api.expect.set_options(timeout=20_000)  # a loaded CI machine draws the digest's chart slowly
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, playground: Playground, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    script_errors: list[str] = []
    opened.on("pageerror", lambda error: script_errors.append(str(error)))
    opened.set_default_timeout(10_000)
    opened.goto(playground.url)
    opened.screenshots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path  # type: ignore[attr-defined]
    yield opened
    context.close()
    assert script_errors == [], script_errors  # the page's own script never failed on the way
