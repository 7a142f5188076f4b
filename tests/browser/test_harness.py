"""Where Chromium is missing, the browser tests fail and say what to install; they never skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import harness


def test_a_missing_chromium_fails_with_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(harness, "CHROMIUM", tmp_path / "chromium")
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install chromium"):
        harness.launch_chromium(playwright=None)


def test_the_browser_is_the_systems_and_never_a_download() -> None:
    launched: dict[str, object] = {}

    class Chromium:
        def launch(self, **options: object) -> str:
            launched.update(options)
            return "browser"

    class Playwright:
        chromium = Chromium()

    if not harness.CHROMIUM.exists():
        pytest.fail(f"{harness.CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    assert harness.launch_chromium(Playwright()) == "browser"
    assert launched["executable_path"] == "/usr/bin/chromium" and launched["headless"] is True
    assert "--disable-background-networking" in launched["args"]  # type: ignore[operator]
