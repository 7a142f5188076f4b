"""The local workspace's welcome: three tries, as the demo people, on records the demo CRM holds."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Engine

from adapters.crm.local import demo
from adapters.crm.local.adapter import LocalCrm
from bot.slack.welcome import Person, Try, demo_tries, welcome_message
from slack_emulator.demo import DEMO_USERS

ALICE, BOB = (Person(u.name, u.real_name, u.email) for u in DEMO_USERS[:2])


def tries_on_the_demo(engine: Engine) -> tuple[LocalCrm, list[Try]]:
    demo.seed(engine, scale=1, seed=7, today=date(2026, 12, 7))
    crm = LocalCrm(engine)
    return crm, demo_tries(crm, rep=BOB, manager=ALICE, bot_handle="crm-copilot")


def test_the_three_tries_name_records_of_the_demo_crm(sqlite_engine: Engine) -> None:
    crm, tries = tries_on_the_demo(sqlite_engine)
    assert [t.person.handle for t in tries] == ["bob", "bob", "bob"] and "as Alice Archer" in tries[2].then
    assert tries[0].text.startswith("/crm find ") and tries[1].text.startswith("@crm-copilot ")
    for one in tries:
        assert one.record is not None
        record = crm.get(*one.record)  # type: ignore[arg-type]
        assert record is not None, one
        company = record if one.record[0] == "company" else crm.get("company", record.company_id)  # type: ignore[union-attr]
        assert company is not None and company.name in one.text, one  # type: ignore[union-attr]
    deal = crm.get(*tries[1].record)  # type: ignore[misc]
    assert deal is not None and deal.owner == "bob" and deal.stage == "proposal"  # Bob's, and it can move on
    text, blocks = welcome_message(tries, "CRM copilot")
    shown = json.dumps(blocks, ensure_ascii=False)
    assert all(t.text.replace("&", "&amp;") in shown for t in tries) and shown.count("*As Bob Baker (account executive)*") == 3


def test_an_empty_crm_says_how_to_load_the_demo(sqlite_engine: Engine) -> None:
    tries = demo_tries(LocalCrm(sqlite_engine), rep=BOB, manager=ALICE, bot_handle="crm-copilot")
    assert tries == []
    _, blocks = welcome_message(tries, "CRM copilot")
    assert "python -m bot seed-demo" in json.dumps(blocks)
