"""The command line: help everywhere, one-line errors, the set-up commands of the README."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["run", "migrate", "seed-demo", "import-crm", "kb-reindex", "config", "config check", "digest", "digest list", "digest preview", "digest run", "hubspot", "hubspot setup", "failed", "failed list", "failed show", "failed retry",
            "failed drop"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "a.md").write_text("# Refunds\n\n## Annual\n\nWithin 30 days.\n", encoding="utf-8")
    path = tmp_path / "app.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/bot.db"\n[kb]\npath = "kb"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command.split(), "--help"])
    assert exit_.value.code == 0
    assert "usage: python -m bot" in capsys.readouterr().out


def test_set_up_sequence(config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SLACK_BOT_TOKEN", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    args = ["--config", str(config)]
    assert main([*args, "seed-demo"]) == 2
    assert "run `python -m bot migrate`" in capsys.readouterr().err
    assert main([*args, "migrate"]) == 0
    assert "migrated empty -> " in capsys.readouterr().out
    assert main([*args, "seed-demo", "--if-empty", "--today", "2026-11-02"]) == 0
    assert capsys.readouterr().out.startswith("seeded: 200 companies")
    assert main([*args, "seed-demo", "--if-empty"]) == 0
    assert "nothing seeded" in capsys.readouterr().out
    assert main([*args, "seed-demo"]) == 2
    assert "use --replace" in capsys.readouterr().err
    assert main([*args, "kb-reindex"]) == 0
    assert "1 added" in capsys.readouterr().out
    assert main([*args, "kb-reindex"]) == 0
    assert "1 unchanged" in capsys.readouterr().out
    assert main([*args, "run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: SLACK_BOT_TOKEN is not set") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["seed-demo", "--scale", "0"], "error: --scale must be between 1 and 100, got 0"),
        (["kb-reindex"], "error: knowledge-base folder"),
        (["import-crm", "nope.csv", "--kind", "contacts"], "error: nope.csv:"),
    ],
)
def test_user_errors_are_one_line(tmp_path: Path, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "app.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/bot.db"\n[kb]\npath = "missing"\n', encoding="utf-8")
    assert main(["--config", str(path), "migrate"]) == 0
    capsys.readouterr()
    assert main(["--config", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1, err


def test_bad_config_and_unreachable_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[kb]\nsearch_limit = 0\n", encoding="utf-8")
    assert main(["--config", str(bad), "config", "check"]) == 2
    assert capsys.readouterr().err == f"error: {bad}: kb.search_limit: Input should be greater than or equal to 1, got 0\n"
    down = tmp_path / "down.toml"
    down.write_text('[database]\nurl = "postgresql+psycopg://nobody:pw@127.0.0.1:1/none"\n', encoding="utf-8")
    assert main(["--config", str(down), "migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: database unavailable") and "pw" not in err and err.count("\n") == 1


def test_config_check_hides_secrets(config: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": "xoxb-very-secret", "BOT_CONFIG": str(config)}
    out = subprocess.run([sys.executable, "-m", "bot", "config", "check"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert '"SLACK_BOT_TOKEN": "set"' in out and "xoxb-very-secret" not in out
