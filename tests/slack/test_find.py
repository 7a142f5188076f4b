"""`/crm find`: each match named, linked and numbered, a contact with its company, open deals under
both; and only what the reader may see (the attack: a rep looking for another rep's deal)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, insert

from adapters.crm.local.adapter import LocalCrm
from adapters.crm.local.tables import OwnerRow
from bot.access.scope import Scope
from bot.access.scoped_crm import ScopedCrm
from bot.slack.blocks import messages
from bot.slack.blocks.links import Links
from bot.slack.listeners.commands import find

LINKS = Links.from_settings("https://crm.example.com/{kind}s/{id}", "", ())


@pytest.fixture
def crm(sqlite_engine: Engine) -> LocalCrm:
    with sqlite_engine.begin() as conn:
        conn.execute(insert(OwnerRow), [{"id": "bob", "name": "Bob Baker", "email": "bob@example.com"},
                                        {"id": "carol", "name": "Carol Chen", "email": "carol@example.com"}])
    return LocalCrm(sqlite_engine)


def seed(crm: LocalCrm) -> dict[str, int]:
    """Bob's account Harbour Freight with Bob's deal and, on the same contact, Carol's expansion deal;
    Carol's own account Quayside with Bob's contact at it."""
    def make(kind: str, key: str, **fields: object) -> int:
        return crm.create(kind, fields, idempotency_key=key).record.id  # type: ignore[arg-type]

    ids = {"harbour": make("company", "c1", name="Harbour Freight", owner="bob"),
           "quayside": make("company", "c2", name="Quayside Secret Holdings", owner="carol")}
    ids["henry"] = make("contact", "p1", first_name="Henry", last_name="Harbourne", company_id=ids["harbour"],
                        email="henry@harbour.example", owner="bob")
    ids["hal"] = make("contact", "p2", first_name="Hal", last_name="Harbourside", company_id=ids["quayside"],
                      email="hal@quayside.example", owner="bob")
    ids["renewal"] = make("deal", "d1", name="Harbour renewal", company_id=ids["harbour"], contact_id=ids["henry"],
                          amount="24000", currency="GBP", stage="negotiation", owner="bob", close_date="2026-12-11")
    ids["expansion"] = make("deal", "d2", name="Carol's confidential expansion", company_id=ids["harbour"],
                            contact_id=ids["henry"], amount="99000", currency="GBP", stage="proposal", owner="carol")
    return ids


def shown(found: list[messages.Found], query: str = "harbour") -> str:
    text, blocks = messages.find_results(query, found, LINKS)
    return text + json.dumps(blocks, ensure_ascii=False)


def test_each_match_is_named_linked_and_numbered_with_company_and_open_deals(crm: LocalCrm) -> None:
    ids = seed(crm)
    out = shown(find(ScopedCrm(crm, Scope.everything()), "Harbour", 20))
    assert f"<https://crm.example.com/contacts/{ids['henry']}|Henry Harbourne> · contact {ids['henry']}" in out
    assert f"at <https://crm.example.com/companys/{ids['harbour']}|Harbour Freight> (company {ids['harbour']})" in out
    assert f"<https://crm.example.com/deals/{ids['renewal']}|Harbour renewal> (deal {ids['renewal']}): 24,000 GBP," \
           " Negotiation, closes 11 Dec 2026" in out
    assert "2 open deals" in out and "matches for" in out


def test_a_rep_finds_no_trace_of_another_reps_records(crm: LocalCrm) -> None:
    """The attack: Bob searches for the words of Carol's deal and company. He sees his own contact
    and account, and neither Carol's deal (on his own contact and account) nor her company."""
    ids = seed(crm)
    bob = ScopedCrm(crm, Scope(frozenset({"bob"}), unowned=False))
    for query in ("Harbour", "Harbourside", "Quayside", "confidential"):
        out = shown(find(bob, query, 20), query)
        assert "confidential expansion" not in out and "99,000" not in out, query
        assert "Quayside" not in out.replace(f"“{query}”", ""), query  # the company Bob may not see, never named
        assert f"deal {ids['expansion']}" not in out and f"company {ids['quayside']}" not in out, query
    out = shown(find(bob, "Harbour", 20))
    assert "Henry Harbourne" in out and "Harbour renewal" in out and "1 open deal:" in out
    assert "Hal Harbourside" in out  # his own contact, listed without the company he may not see
    # What the agent's search_contacts reads is the same view: no hidden company in a hit's subtitle.
    assert [h.subtitle for h in bob.search_contacts("Harbourside")] == ["hal@quayside.example"]


@pytest.mark.parametrize(("n", "noun", "expected"), [
    (0, "match", "0 matches"), (1, "match", "1 match"), (2, "match", "2 matches"), (1, "open deal", "1 open deal"),
    (3, "open deal", "3 open deals"), (2, "proposal", "2 proposals"), (2, "person", "2 people")])
def test_counts_agree_with_their_nouns(n: int, noun: str, expected: str) -> None:
    assert messages.count(n, noun, "people" if noun == "person" else None) == expected


def test_one_match_is_one_match(crm: LocalCrm) -> None:
    seed(crm)
    text, _ = messages.find_results("Harbourne", find(ScopedCrm(crm, Scope.everything()), "Harbourne", 20), LINKS)
    assert text.startswith("1 match for")


def test_a_deal_amount_reads_as_on_its_card_and_in_digests(crm: LocalCrm) -> None:
    """One formatter for amounts: cents are kept (1,234.50 GBP), not rounded away as a second one did."""
    ids = seed(crm)
    crm.create("deal", {"name": "Harbour spares", "company_id": ids["harbour"], "amount": "1234.50",
                        "currency": "GBP", "stage": "proposal", "owner": "bob"}, idempotency_key="d3")
    out = shown(find(ScopedCrm(crm, Scope.everything()), "Harbour", 20))
    assert ": 1,234.50 GBP, Proposal" in out
    assert ": 24,000 GBP, Negotiation" in out
