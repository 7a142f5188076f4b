"""One Chromium per test module; a fresh browser context (no shared storage) for every test.

Per module, not per session: Playwright's synchronous API keeps an event loop running on the main
thread while it is started, and tests of other modules call `asyncio.run`, which that would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import DevProcess, launch_chromium, screenshot, start_playwright
from tests.e2e.conftest import prepare_database


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = start_playwright()
    try:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)  # two shared cores: generous, and every wait is on a condition
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        screenshot(page, f"{request.node.name}-failed")
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Lets the page fixture know whether the test failed, to keep a screenshot of the moment.
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]


def start_dev(tmp: Path, *, model_url: str | None) -> tuple[DevProcess, Any, dict[str, int]]:
    """A prepared database (the small test CRM, the test articles) and `python -m bot dev` on it."""
    url = f"sqlite:///{tmp / 'bot.db'}"
    engine, crm, ids = prepare_database(url, tmp / "kb")
    dev = DevProcess(url, tmp / "kb", tmp / "dev.log", model_url=model_url)
    try:
        dev.wait_connected()
    except BaseException:
        dev.stop()
        engine.dispose()
        raise
    return dev, (engine, crm), ids
