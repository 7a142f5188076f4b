"""`python -m bot audit … | head`: the reader goes away and the command ends quietly (a real process
writing into a real pipe that is closed under it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.store import schema
from bot.store.audit import SqlAuditLog
from bot.store.engine import make_engine
from tests.e2e.harness import ROOT

EVENTS = 3000  # about 400 KB of output: far more than a pipe holds, so the writer is still writing


def test_audit_into_a_closed_pipe_ends_without_a_traceback(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    schema.upgrade(engine)
    SqlAuditLog(engine).record_many([
        {"kind": "tool.call", "actor": "U02BOB", "conversation_id": "C1:1.0",
         "data": {"tool": "search_contacts", "arguments": '{"query": "' + "x" * 60 + f'{n}"}}', "duration_ms": 1.0,
                  "error": None}} for n in range(EVENTS)])
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))}
    env.update({"DATABASE_URL": sqlite_url, "BOT_KB__PATH": str(tmp_path),
                "BOT_ACCESS__MEMBERS__AUDITOR": '["U06AUDIT"]'})
    proc = subprocess.Popen([sys.executable, "-m", "bot", "audit", "C1:1.0", "--user", "U06AUDIT"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does once it has its line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert b"tool.call" in first
    assert stderr == ""
