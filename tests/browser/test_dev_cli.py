"""`python -m bot dev` refuses what it cannot do with one line on stderr and exit status 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import schema
from bot.store.engine import make_engine
from tests.e2e.harness import ROOT


def dev(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))}
    env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "bot", "dev", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_a_port_in_use_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(dev("--port", str(port), database_url=url))
    assert f"cannot listen on 127.0.0.1:{port}" in line and "--port" in line


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_a_port_out_of_range_is_refused(tmp_path: Path, port: str) -> None:
    line = one_error_line(dev("--port", port, database_url=f"sqlite:///{tmp_path / 'bot.db'}"))
    assert "--port must be between 0 and 65535" in line


def test_an_unmigrated_database_is_refused_before_the_page_is_announced(tmp_path: Path) -> None:
    result = dev("--port", "0", database_url=f"sqlite:///{tmp_path / 'bot.db'}")
    line = one_error_line(result)
    assert "migrate" in line
    assert "Local workspace" not in result.stdout
