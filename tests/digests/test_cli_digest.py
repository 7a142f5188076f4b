"""`python -m bot digest list | preview | run` on the demo CRM; mistakes are one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

CONFIG = '''[database]
url = "sqlite:///{db}"

[[digests]]
name = "morning"
channel = "#sales"
cron = "0 8 * * mon-fri"
timezone = "Europe/Berlin"
sections = ["closing_soon", "stale_deals", "ticket_alerts"]
'''


def test_list_and_preview_on_the_demo_crm(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SLACK_BOT_TOKEN", "DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "app.toml"
    config.write_text(CONFIG.format(db=tmp_path / "bot.db"), encoding="utf-8")
    args = ["--config", str(config)]
    assert main([*args, "migrate"]) == 0
    assert main([*args, "seed-demo", "--today", "2026-12-01"]) == 0
    capsys.readouterr()
    assert main([*args, "digest", "list"]) == 0
    listed = capsys.readouterr().out
    assert "morning\t#sales\t0 8 * * mon-fri Europe/Berlin\tclosing_soon,stale_deals,ticket_alerts\tconfig\tnever ran" in listed
    assert main([*args, "digest", "preview", "morning"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("Digest morning for #sales") and "Tickets needing attention (" in shown
    assert "more (in the thread when posted)" in shown
    assert main([*args, "digest", "preview", "morning", "--full"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > len(shown.splitlines())

    assert main([*args, "digest", "preview", "evening"]) == 2
    assert capsys.readouterr().err.strip() == ('error: no digest named "evening"; '
                                               '`python -m bot digest list` shows them')
    assert main([*args, "digest", "run", "morning"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: SLACK_BOT_TOKEN is not set") and "\n" not in err
