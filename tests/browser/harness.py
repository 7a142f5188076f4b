"""`python -m bot dev` as a subprocess, and headless Chromium (Debian's package) driven by Playwright.

The browser is always the system's /usr/bin/chromium: Playwright's own browser download cannot
work on the machines this project is tested on, so it is never attempted. When Chromium or the
playwright package is missing, the tests fail with a message saying what to install.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import NO_LIMITS, ROOT, free_port

CHROMIUM = Path("/usr/bin/chromium")
# Chromium as root in a container: no sandbox, no GPU, and none of the background traffic to
# Google's services that a closed network refuses (Playwright adds --headless and --no-sandbox).
CHROMIUM_FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"


def launch_chromium(playwright: Any) -> Any:
    """Headless Chromium from Debian's package; fails the test, saying what to install, if absent."""
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: install Debian's package "
                    "(as root: apt-get install chromium; `make test` does this)", pytrace=False)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)


def start_playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need the playwright package: pip install -e '.[test]' "
                    "(`make test` does this)", pytrace=False)
    return sync_playwright().start()


def screenshot(page: Any, name: str) -> Path:
    """Save what the page shows now under tests/artifacts/browser/ (kept by CI as an artefact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path))
    return path


class DevProcess:
    """`python -m bot dev --port N` on a prepared database, with or without a model server."""

    def __init__(self, database_url: str, kb_path: Path, log_path: Path, *, model_url: str | None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))}
        env.update({"DATABASE_URL": database_url, "BOT_KB__PATH": str(kb_path), "PYTHONUNBUFFERED": "1",
                    "BOT_MODEL__MAX_RETRIES": "0", **NO_LIMITS})  # tests ask faster than people do
        if model_url:
            env.update({"OPENAI_BASE_URL": model_url, "OPENAI_API_KEY": "test-key"})
        env.update(extra_env or {})
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "dev", "--port", str(self.port),
                                      "--ops-port", "0"], cwd=ROOT,
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def state(self, user: str, after: int = -1) -> dict[str, Any]:
        """The page's view of the workspace for `user` (waits for a change past `after`)."""
        query = f"/ui/state?user={user}&after={after}"
        with urllib.request.urlopen(self.url + query, timeout=40) as response:
            return json.loads(response.read())

    def wait_connected(self, timeout: float = 90.0) -> None:
        """Until the bot has connected to the workspace over Socket Mode."""
        deadline = time.monotonic() + timeout
        version = -1
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"`python -m bot dev` exited\n{self.output()}"
            try:
                state = self.state("alice", version)
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)  # the process is still starting: nothing to wait on but its port
                continue
            if state["connected"]:
                return
            version = state["version"]  # the next answer comes when something changes
        raise AssertionError(f"the bot did not connect within {timeout} s\n{self.output()}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]

    def stop(self) -> int:
        """Ctrl-C, as a person would stop it; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode
