"""The real bot process with crm.adapter = "hubspot", against the HubSpot emulator, the Slack emulator
and the scripted model: an answer about a contact (the model sees placeholders only), an update
executed once on approval (one PATCH), a proposal refused because the record changed in HubSpot,
and a digest built from HubSpot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from adapters.crm.hubspot.adapter import HubSpotCrm
from slack_emulator import EmulatorThread
from bot.slack.blocks.cards import APPROVE
from tests.world import PLANTED, leaked, seed
from tests.e2e.cards import text_of, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.harness import ROOT, Script, echo_placeholders, last_user_text
from tests.fakes.hubspot_emulator import HubSpotEmulator
from tests.fakes.model_server import text, tool_calls

SALES = "C0SALES"


@dataclass
class HubStack:
    stack: Stack
    hub: HubSpotEmulator
    crm: HubSpotCrm
    ids: dict[str, int]
    env: dict[str, str]


@pytest.fixture(scope="module")
def hubstack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
             script: tuple[Script, str]) -> Iterator[HubStack]:
    emulator.default_mode = "socket"
    with HubSpotEmulator() as hub:
        # HubSpot's users, with the e-mails of the workspace's Slack users: the bot maps people to
        # them by e-mail, so the shipped access rules apply (reps see their team's records).
        hub.add_owner(7101, "alice@example.com", "Alice", "Archer", ("Sales",))
        hub.add_owner(7102, "bob@example.com", "Bob", "Baker", ("Sales",))
        crm = HubSpotCrm.connect(hub.token, hub.base_url)
        ids = seed(crm, {"U01ALICE": "7101", "U02BOB": "7102"})  # type: ignore[arg-type]
        # No access settings: the shipped app.toml's groups and roles apply.
        env = {"BOT_CRM__ADAPTER": "hubspot", "HUBSPOT_ACCESS_TOKEN": hub.token, "HUBSPOT_API_URL": hub.base_url}
        stack = start_stack(tmp_path_factory.mktemp("hubspot"), emulator, script, socket_mode=True, extra_env=env)
        yield HubStack(stack, hub, crm, ids, env)
        assert stack.bot.stop() == 0, stack.bot.output()
        stack.engine.dispose()


def replies(stack: Stack, ts: str) -> list[str]:
    return [json.dumps(m.blocks, ensure_ascii=False) for m in stack.emulator.messages(SALES, thread_ts=ts)
            if m.bot_id and m.ts != ts]


def propose(stack: Stack, call: tuple[str, dict[str, object]]) -> str:
    stack.script.load(tool_calls(call), text("I proposed it; it waits for approval."))
    root = stack.emulator.user_message("U02BOB", SALES, "<@UBOT> please make the change")
    return wait_for_cards(stack.emulator, SALES, root.ts, 1)[0].ts


def test_a_question_about_a_contact_is_answered_from_hubspot(hubstack: HubStack) -> None:
    stack, zoe = hubstack.stack, hubstack.ids["zoe"]
    stack.script.load(lambda body: tool_calls(("get_contact", {"contact_id": zoe})),
                      echo_placeholders("{0} ({1}) is Head of Support; her deal is in stage proposal."))
    posted = stack.emulator.user_message("U02BOB", SALES, f"<@UBOT> what do we know about {PLANTED['name']}, "
                                                           f"{PLANTED['email']}?")
    stack.emulator.wait_for(lambda e: any(PLANTED["name"] in r for r in replies(stack, posted.ts)), 30,
                            what="the answer")
    assert not leaked(stack.script.raw()), "personal data reached the model"
    assert "<PERSON_" in last_user_text(stack.script.bodies[-2])
    tool_result = json.dumps(stack.script.bodies[-1]["messages"][-1], ensure_ascii=False)
    assert "Head of Support" in tool_result and "Acme renewal 2027" in tool_result  # read from HubSpot
    assert hubstack.hub.count("GET", f"/crm/v3/objects/contacts/{zoe}") >= 1


def test_a_rep_reads_only_their_teams_hubspot_records(hubstack: HubStack) -> None:
    """The shipped rules on HubSpot's owners: Bob (rep, team sales) sees Alice's records, not those
    of a HubSpot user outside his team, and that one reads exactly like a missing record."""
    stack, hub = hubstack.stack, hubstack.hub
    hub.add_owner(7109, "zed@example.com", "Zed", "Zimmer", ("Support",))
    theirs = hubstack.crm.create("company", {"name": "Initrode Support", "owner": "7109"},
                                 idempotency_key="e2e-c9").record.id
    acme = hubstack.ids["acme"]  # owned by Alice
    stack.script.load(tool_calls(("get_company", {"company_id": theirs}), ("get_company", {"company_id": acme})),
                      text("Checked both."))
    posted = stack.emulator.user_message("U02BOB", SALES, "<@UBOT> what about those two companies?")
    stack.emulator.wait_for(lambda e: any("Checked both" in r for r in replies(stack, posted.ts)), 30,
                            what="the answer")
    results = [m for m in stack.script.bodies[-1]["messages"] if m.get("role") == "tool"]
    assert len(results) == 2
    assert f"company {theirs} was not found or is not visible to you" in results[0]["content"]
    assert "Initrode" not in json.dumps(stack.script.bodies[-1], ensure_ascii=False)
    assert "employees" in results[1]["content"] and "not visible" not in results[1]["content"]


def test_an_approved_update_is_one_patch_in_hubspot(hubstack: HubStack) -> None:
    stack, hub, deal = hubstack.stack, hubstack.hub, hubstack.ids["deal"]
    card_ts = propose(stack, ("update_deal", {"deal_id": deal, "stage": "negotiation"}))
    assert hub.count("PATCH") == 0
    barrier = threading.Barrier(2)

    def click(user: str) -> None:  # two approvers click at the same moment
        barrier.wait()
        stack.emulator.click(user, channel=SALES, message_ts=card_ts, action_id=APPROVE)

    # the manager double-clicks (Bob asked for the change: four eyes keep him from approving it)
    clickers = [threading.Thread(target=click, args=(u,)) for u in ("U01ALICE", "U01ALICE")]
    for t in clickers:
        t.start()
    for t in clickers:
        t.join()
    wait_for_card_text(stack.emulator, SALES, card_ts, "Executed")
    stack.emulator.wait_for(lambda e: any("already" in x.text for x in e.ephemerals("U01ALICE")), 20,
                            what="the second click told")
    assert hub.count("PATCH", f"/crm/v3/objects/deals/{deal}") == 1 and hub.count("PATCH") == 1
    assert hub.store.objects["deals"][deal].properties["dealstage"] == "decisionmakerboughtin"


def test_a_proposal_whose_record_changed_in_hubspot_is_not_written(hubstack: HubStack) -> None:
    stack, hub, acme = hubstack.stack, hubstack.hub, hubstack.ids["acme"]
    card_ts = propose(stack, ("update_company", {"company_id": acme, "employees": 900}))
    hub.edit("companies", acme, numberofemployees="120")  # someone changes it in HubSpot
    patches = hub.count("PATCH")
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=card_ts, action_id=APPROVE)
    card = wait_for_card_text(stack.emulator, SALES, card_ts, "Not applied")
    assert "(now 120)" in text_of(card)
    assert hub.count("PATCH") == patches and hub.store.objects["companies"][acme].properties["numberofemployees"] == "120"


def test_a_change_to_another_property_in_hubspot_does_not_block_the_proposal(hubstack: HubStack) -> None:
    stack, hub, acme = hubstack.stack, hubstack.hub, hubstack.ids["acme"]
    card_ts = propose(stack, ("update_company", {"company_id": acme, "phone": "+49 30 7654321"}))
    hub.edit("companies", acme, industry="Logistics")  # someone changes another property in HubSpot
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=card_ts, action_id=APPROVE)
    wait_for_card_text(stack.emulator, SALES, card_ts, "Executed")
    properties = hub.store.objects["companies"][acme].properties
    assert properties["phone"] == "+49 30 7654321" and properties["industry"] == "Logistics"


def test_a_digest_is_built_from_hubspot(hubstack: HubStack) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_", "HUBSPOT_"))}
    env.update(hubstack.env, DATABASE_URL=f"sqlite:///{hubstack.stack.bot.log_path.parent / 'bot.db'}")
    done = subprocess.run([sys.executable, "-m", "bot", "digest", "preview", "morning-pipeline", "--full"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 (48,500 EUR)" in done.stdout and "Globex Retail: churn risk" in done.stdout, done.stdout
    assert hubstack.hub.count(path="/crm/v3/objects/deals/search") > 0
