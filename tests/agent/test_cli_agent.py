"""`ask`, `approve`, `reject` and `audit` from the terminal, against the scripted model server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from adapters.crm.local.adapter import LocalCrm
from bot.cli import main
from bot.store import schema
from bot.store.engine import make_engine
from tests.fakes.model_server import ScriptedModelServer, text, tool_calls
from tests.world import seed


@pytest.fixture
def crm_db(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalCrm:
    engine = make_engine(sqlite_url)
    schema.upgrade(engine)
    crm = LocalCrm(engine)
    seed(crm)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("BOT_KB__PATH", str(tmp_path))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return crm


def test_ask_then_approve_reject_and_audit(crm_db: LocalCrm, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedModelServer([
        tool_calls(("update_deal", {"deal_id": 1, "stage": "negotiation"}),
                   ("log_activity", {"kind": "call", "subject": "Pricing call", "deal_id": 1})),
        text("Two proposals are waiting for approval."),
    ]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        assert main(["ask", "Move deal 1 to negotiation and log my call", "--user", "U02BOB",
                     "--conversation", "term-1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Two proposals are waiting for approval.\n")
    ids = re.findall(r"Proposal (\w+) \((\w+) risk", out)
    assert [risk for _, risk in ids] == ["medium", "low"]
    assert "  stage: proposal -> negotiation" in out and "[conversation term-1; 2 model calls, 2 tool calls" in out
    deal_id, call_id = ids[0][0], ids[1][0]

    assert main(["approve", deal_id, "--user", "U02BOB"]) == 1  # four eyes: not the requester
    assert capsys.readouterr().out.startswith("refused: a medium-risk change needs someone other than its requester")
    assert main(["approve", deal_id, "--user", "U77OUT"]) == 1  # in no group: Bob's deal is not theirs to see
    assert capsys.readouterr().out.startswith("refused: you may not see the record this proposal changes")
    assert main(["approve", deal_id, "--user", "U03CAROL"]) == 1  # sees the team's deals, but is no manager
    assert capsys.readouterr().out.startswith("refused: you may not approve medium-risk changes")
    assert main(["approve", deal_id, "--user", "U01ALICE"]) == 0  # a manager
    assert capsys.readouterr().out.startswith("executed: done")
    assert crm_db.get("deal", 1).stage == "negotiation"  # type: ignore[union-attr]
    assert main(["approve", deal_id, "--user", "U03CAROL"]) == 1
    assert "already executed by <@U01ALICE>" in capsys.readouterr().out
    assert main(["reject", call_id, "--user", "U02BOB", "--reason", "duplicate"]) == 0
    assert capsys.readouterr().out == "rejected: by U02BOB (duplicate)\n"

    assert main(["audit", deal_id, "--user", "U01ALICE"]) == 1  # a manager may not read audit trails
    assert capsys.readouterr().out == "refused: the manager role may not read audit trails\n"
    monkeypatch.setenv("BOT_ACCESS__MEMBERS__AUDITOR", '["U06AUDIT"]')
    assert main(["audit", deal_id, "--user", "U06AUDIT"]) == 0
    trail = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in trail] == ["proposal.transition", *["approval.refused"] * 3,
                                                   "proposal.transition", "proposal.transition"]
    assert main(["audit", "term-1", "--json", "--user", "U06AUDIT"]) == 0
    kinds = [json.loads(line)["kind"] for line in capsys.readouterr().out.splitlines()]
    assert kinds.count("model.call") == 2 and kinds.count("tool.call") == 2 and "approval.refused" in kinds


def test_ask_without_a_model_server_says_what_to_set(crm_db: LocalCrm, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert main(["ask", "Hello", "--user", "U02BOB"]) == 1
    assert "set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL" in capsys.readouterr().out


def test_unknown_proposal_and_unknown_audit_ref(crm_db: LocalCrm, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["approve", "nope", "--user", "U01ALICE"]) == 1
    assert capsys.readouterr().out == "not_found: proposal nope does not exist\n"
    monkeypatch.setenv("BOT_ACCESS__MEMBERS__AUDITOR", '["U06AUDIT"]')
    assert main(["audit", "nope", "--user", "U06AUDIT"]) == 1
