"""What an e-mail proposal warns about: others' personal data in the body, a recipient the CRM does not know."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from adapters.crm.base import Contact
from bot.actions.email_checks import find_emails, find_phones, other_people, unknown_recipient
from bot.agent.scripted import ScriptedModel
from tests.world import PLANTED, World, make_world, settings_for


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    return make_world(sqlite_engine, tmp_path, ScriptedModel([]))


@pytest.mark.parametrize(("text", "expected"), [
    ("write to bob@globex.com.", ["bob@globex.com"]),
    ("a.b+tag@mail.acme-logistics.de, x@host.internal and x@host.local", [
        "a.b+tag@mail.acme-logistics.de", "x@host.internal", "x@host.local"]),
    ("twice: a@b.io a@b.io", ["a@b.io"]),
    ("no address: @handle, a@b, user at example dot com", []),
])
def test_emails_are_found_in_any_domain(text: str, expected: list[str]) -> None:
    assert find_emails(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("call +1 415 555 0100 today", ["+1 415 555 0100"]),
    ("0143520423 or 01-43-52-04-23 or (020) 7946_0958", ["0143520423", "01-43-52-04-23", "(020) 7946_0958"]),
    ("+44 20 7946 0958.", ["+44 20 7946 0958"]),
    # dates, amounts, ids, times and short numbers are not phones
    ("on 2026-01-15 or 15/01/2026, 12,500 EUR, order 4711, at 10:30", []),
    ("see invoice INV-20260115 and bob@globex.com", []),
])
def test_phone_numbers_are_found_and_dates_are_not(text: str, expected: list[str]) -> None:
    assert find_phones(text) == expected


@pytest.mark.parametrize(("found", "expected"), [
    ([], []),
    # the longest form of each other contact, once; the recipient (contact 1), companies and non-names left out
    ([("PERSON", "Robert", "contact:2"), ("PERSON", "Robert\nMiller", "contact:2"), ("PERSON", "Zoë", "contact:1"),
      ("ORGANIZATION", "Globex", "company:2"), ("EMAIL_ADDRESS", "bob@globex.com", "contact:2"),
      ("PERSON", "Ann", "contact:3")], ["Robert Miller", "Ann"]),
])
def test_other_people_are_the_contacts_named_besides_the_recipient(found: list[tuple[str, str, str]],
                                                                   expected: list[str]) -> None:
    recipient = Contact(1, None, "Zoë", "Müller", None, None, None, (), "customer", None, None, None,
                        None, None, 1)  # type: ignore[arg-type]
    assert other_people(lambda text: found, "body", recipient) == expected
    assert other_people(None, "body", recipient) == []


def propose_email(world: World, **args: Any) -> Any:
    return world.services.approvals.propose_call("send_email", {"subject": "Renewal", **args}, requester="U02BOB",
                                                 conversation_id=None, channel="C1")


def warnings(proposal: Any) -> list[str]:
    return [d["after"] for d in proposal.diff if d["field"] == "warning"]


@pytest.mark.parametrize(("to", "body", "contact", "expected"), [
    # the recipient's own address and phone, and the sender's address, are no warning
    (PLANTED["email"], f"Reach me at {PLANTED['phone']} or reply to {PLANTED['email']}.", "zoe", []),
    # someone else's address and phone are listed, by value
    (PLANTED["email"], f"P.S. contact list: Robert Miller, {PLANTED['other_email']}, {PLANTED['other_phone']}",
     "zoe", [f"not the recipient contact's: Robert Miller, {PLANTED['other_email']}, {PLANTED['other_phone']}"]),
    # other CRM contacts by name, in any form the privacy layer knows; the recipient's own name is no warning
    (PLANTED["email"], "Dear Zoë, Bob Miller and I will call.", "zoe", ["not the recipient contact's: Bob Miller"]),
    (PLANTED["email"], "Dear Zoë Müller, thanks.", "zoe", []),
    # the contact is found by address when no contact_id is given
    (PLANTED["email"], f"call {PLANTED['phone']}", None, []),
    # a new address at a company's domain (or a subdomain of it) is a known recipient
    ("new.person@acme-logistics.de", "Hello", None, []),
    ("someone@eu.globex.com", "Hello", None, []),
    # anything else is flagged, and with personal data both warnings are listed
    ("drop@evil.example", "Hello", None, ["recipient not in the CRM: drop@evil.example"]),
    ("drop@evil.example", f"fyi Zoë Müller, {PLANTED['email']}", None,
     ["recipient not in the CRM", f"not a recipient contact's: Zoë Müller, {PLANTED['email']}"]),
])
def test_planning_an_email_lists_what_to_check(world: World, to: str, body: str, contact: str | None,
                                               expected: list[str]) -> None:
    args = {"to": to, "body": body} | ({"contact_id": world.ids[contact]} if contact else {})
    proposal = propose_email(world, **args)
    found = warnings(proposal)
    assert len(found) == len(expected), found
    for text, part in zip(found, expected, strict=True):
        assert part in text
    assert proposal.risk == "high" and proposal.args["body"] == body  # the warnings never touch what executes
    assert unknown_recipient(proposal.diff) is any("not in the CRM" in e for e in expected)


@pytest.mark.parametrize(("to", "approver", "allowed"), [
    ("drop@evil.example", "U03CAROL", False),  # the policy lets anyone approve; an unknown recipient does not
    ("drop@evil.example", "U01ALICE", True),  # a manager may
    (PLANTED["other_email"], "U03CAROL", True),  # a known recipient follows the policy
])
def test_an_unknown_recipient_needs_a_manager_whatever_the_policy(sqlite_engine: Engine, tmp_path: Path, to: str,
                                                                  approver: str, allowed: bool) -> None:
    loose = settings_for(tmp_path)
    loose = loose.model_copy(update={"approvals": loose.approvals.model_copy(update={"high": ("anyone",)})})
    world = make_world(sqlite_engine, tmp_path, ScriptedModel([]), settings=loose)
    proposal = propose_email(world, to=to, body="Hello")
    decision = world.services.approvals.approve(proposal.id, user=approver)
    assert (decision.outcome == "executed") is allowed, decision.message
    if not allowed:
        assert "managers" in decision.message and world.services.approvals.get(proposal.id).status == "pending"
