"""The real bot process (`python -m bot run`) against the Slack emulator and the scripted model server.

`Script` is the model: tests load the steps of the next exchange and every request body is kept
for the privacy checks. `BotProcess` starts the bot as a subprocess with its environment pointing
at the emulator and the model server, waits until it is connected, and stops it with SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slack_emulator import EmulatorThread
from tests.fakes.model_server import Reply, text

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")
NO_LIMITS = {"BOT_LIMITS__REQUESTS_PER_MINUTE": "0", "BOT_LIMITS__TOKENS_PER_DAY": "0",
             "BOT_LIMITS__WORKSPACE_TOKENS_PER_DAY": "0"}


class Script:
    """A model whose next replies the test loads; a call with nothing loaded fails (HTTP 500)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: list[Reply | str | Callable[[dict[str, Any]], Reply | str]] = []
        self.bodies: list[dict[str, Any]] = []

    def load(self, *steps: Reply | str | Callable[[dict[str, Any]], Reply | str]) -> None:
        with self._lock:
            assert not self._steps, f"{len(self._steps)} steps of the previous script were not used"
            self._steps = list(steps)

    def __call__(self, body: dict[str, Any]) -> Reply | str:
        with self._lock:
            self.bodies.append(body)
            if not self._steps:
                raise AssertionError("the model was called with no scripted step left")
            step = self._steps.pop(0)
        return step(body) if callable(step) else step

    def used_up(self) -> bool:
        with self._lock:
            return not self._steps

    def raw(self) -> str:
        return json.dumps(self.bodies, ensure_ascii=False)


def last_user_text(body: dict[str, Any]) -> str:
    return next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")


def echo_placeholders(template: str) -> Callable[[dict[str, Any]], Reply]:
    """A final answer that repeats the placeholders the model was given in the user's message."""
    return lambda body: text(template.format(*PLACEHOLDER.findall(last_user_text(body))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    """`python -m bot run` in Socket Mode (socket=True) or HTTP mode on a free port."""

    def __init__(self, emulator: EmulatorThread, model_url: str, database_url: str, kb_path: Path, log_path: Path,
                 *, socket_mode: bool, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))}
        env.update({
            "DATABASE_URL": database_url, "BOT_KB__PATH": str(kb_path), "SLACK_BOT_TOKEN": emulator.config.bot_token,
            "SLACK_API_URL": emulator.api_url, "OPENAI_BASE_URL": model_url, "OPENAI_API_KEY": "test-key",
            "BOT_SLACK__SWEEP_SECONDS": "1", "BOT_MODEL__MAX_RETRIES": "0", "PYTHONUNBUFFERED": "1",
            # Tests ask faster than people do: no limits (still counted) unless a test sets them.
            **NO_LIMITS,
        })
        if socket_mode:
            env["SLACK_APP_TOKEN"] = emulator.config.app_token
        else:
            env["SLACK_SIGNING_SECRET"] = emulator.config.signing_secret
        env.update(extra_env or {})
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.ops_port = free_port()
        self.ops_url = f"http://127.0.0.1:{self.ops_port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--port", str(self.port),
                                      "--ops-port", str(self.ops_port)], cwd=ROOT,
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._socket_mode = socket_mode
        self._emulator = emulator

    def wait_ready(self, timeout: float = 60.0) -> None:
        if self._socket_mode:
            before = len(self._emulator.connections())
            self._emulator.wait_for(lambda e: self._exited() or len(e.connections()) > before, timeout,
                                    what="the bot to connect over Socket Mode")
            assert not self._exited(), self.output()
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert not self._exited(), self.output()
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)  # the process is still starting; nothing to wait on but its port
        raise AssertionError(f"the bot did not answer /healthz within {timeout} s\n{self.output()}")

    def _exited(self) -> bool:
        return self.proc.poll() is not None

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode
