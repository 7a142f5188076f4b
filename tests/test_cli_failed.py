"""`python -m bot failed`: list, show, retry (queued for the running bot), drop; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import schema
from bot.store.dead_letters import SqlDeadLetters
from bot.store.engine import make_engine


def test_list_show_retry_and_drop(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    schema.upgrade(engine)
    letters = SqlDeadLetters(engine)
    turn = letters.record("turn", "C1:1.0", reason="the model server answered with an error (HTTP 503)",
                          payload={"text": "about <PERSON_1>"}, user="U02BOB", channel="C1")
    digest = letters.record("digest", "morning@2026-12-01", reason="Slack refused the digest (500)",
                            payload={"digest": "morning"})

    assert main(["failed", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in lines] == [[str(digest), "digest", "failed"], [str(turn), "turn", "failed"]]
    assert main(["failed", "show", str(turn)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["payload"] == {"text": "about <PERSON_1>"} and shown["reason"].endswith("(HTTP 503)")

    assert main(["failed", "retry", str(turn)]) == 0
    assert "queued: the running bot retries it" in capsys.readouterr().out
    assert letters.get(turn).status == "queued"  # type: ignore[union-attr]
    assert main(["failed", "drop", str(digest)]) == 0
    assert main(["failed", "drop", str(digest)]) == 2  # already dropped
    assert capsys.readouterr().err == f"error: item {digest} is dropped: only failed or queued items can be dropped\n"
    assert main(["failed", "show", "999"]) == 2
    assert "no failed item 999" in capsys.readouterr().err
    assert main(["failed", "list", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [turn]
    engine.dispose()
