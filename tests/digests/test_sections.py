"""Sections computed from the CRM: what each shows, owner and team scopes, empty ones left out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from adapters.crm.local.adapter import LocalCrm
from bot.config import DigestSectionsSection
from bot.digests.sections import Scope, SectionBuilder
from bot.store.tables import utcnow
from tests.digests.world import add


@dataclass(frozen=True)
class Pending:
    id: str
    summary: str
    risk: str
    requester: str
    created_at: datetime
    channel: str | None = "C0SALES"


def test_sections_show_what_needs_attention_and_nothing_else(sqlite_engine: Engine) -> None:
    crm = LocalCrm(sqlite_engine)
    now = utcnow()
    acme = add(crm, "company", name="Acme Logistics", owner="U01ALICE")
    globex = add(crm, "company", name="Globex", owner="U02BOB")
    soon = add(crm, "deal", name="Acme renewal", company_id=acme, stage="negotiation", amount="50000", currency="EUR",
               close_date=now.date() + timedelta(days=3), owner="U01ALICE")
    add(crm, "deal", name="Globex later", company_id=globex, stage="proposal", amount="9000", currency="EUR",
        close_date=now.date() + timedelta(days=60), owner="U02BOB")
    add(crm, "deal", name="Globex lost", company_id=globex, stage="closed_lost", amount="7000", currency="EUR",
        close_date=now.date() - timedelta(days=2), owner="U02BOB")
    breached = add(crm, "ticket", subject="Invoices missing", company_id=globex, priority="urgent", status="open",
                   sla_due_at=now - timedelta(hours=5), owner="U02BOB")
    add(crm, "ticket", subject="Question", company_id=acme, priority="low", status="open", owner="U01ALICE")
    add(crm, "contact", first_name="Lena", last_name="Lead", email="lena@example.com", lifecycle_stage="lead",
        title="VP Sales", company_id=acme, owner="U01ALICE")
    pending = [Pending("p-old", "Update deal 1", "low", "U01ALICE", now - timedelta(hours=30)),
               Pending("p-new", "Update deal 2", "low", "U01ALICE", now - timedelta(hours=1)),
               Pending("p-dm", "Update deal 3", "low", "U01ALICE", now - timedelta(hours=30), "D0ALICE")]
    builder = SectionBuilder(crm, lambda: pending, DigestSectionsSection(pending_hours=24))
    since = now - timedelta(days=1)

    def build(key: str, scope: Scope = Scope(), at: datetime = now):  # type: ignore[no-untyped-def]
        return builder.build(key, scope=scope, since=since, now=at, channel="C0SALES")

    closing = build("closing_soon")
    assert [ln.record for ln in closing.lines] == [("deal", soon)] and closing.total == 1
    tickets = build("ticket_alerts")
    assert [ln.record for ln in tickets.lines] == [("ticket", breached)] and "SLA breached" in tickets.lines[0].text
    # Only proposals made in the digest's own channel (not the one in a DM, not the newer one).
    assert [ln.text.split(" (")[0] for ln in build("pending_proposals").lines] == ["Update deal 1"]
    assert builder.build("pending_proposals", scope=Scope(), since=since, now=now, channel="C0OTHER") is None
    leads = build("new_leads")
    assert leads.lines[0].text.startswith("Lena Lead, VP Sales: lead score") and leads.lines[0].record[0] == "contact"
    risky = build("at_risk_accounts")
    assert [ln.record for ln in risky.lines] == [("company", globex)]
    assert risky.lines[0].actions == ("follow_up", "snooze")
    movement = build("pipeline_movement")
    assert [ln.text for ln in movement.lines[:4]] == ["3 created", "0 moved to another open stage", "0 won (nothing)", "1 lost (7,000 EUR)"]
    assert any("lost: Globex lost" in ln.text for ln in movement.lines)
    assert build("stale_deals") is None  # everything was created moments ago
    stale = build("stale_deals", at=now + timedelta(days=30))
    assert {ln.record for ln in stale.lines} == {("deal", soon), ("deal", soon + 1)}
    assert all(ln.actions == ("follow_up", "snooze") for ln in stale.lines)
    # Scopes: Bob's digest sees Bob's records only.
    bob = Scope(("U02BOB",))
    assert build("closing_soon", bob) is None
    assert [ln.record for ln in build("stale_deals", bob, now + timedelta(days=30)).lines] == [("deal", soon + 1)]
    assert build("ticket_alerts", Scope(("U01ALICE",))) is None
    assert build("new_leads", bob) is None


def test_an_empty_crm_gives_no_sections(sqlite_engine: Engine) -> None:
    builder = SectionBuilder(LocalCrm(sqlite_engine), lambda: [], DigestSectionsSection())
    now = utcnow()
    for key in ("pipeline_movement", "closing_soon", "stale_deals", "new_leads", "at_risk_accounts",
                "ticket_alerts", "pending_proposals"):
        assert builder.build(key, scope=Scope(), since=now - timedelta(days=1), now=now) is None, key


def test_counts_and_totals_agree_with_the_lists(engine: Engine) -> None:
    from adapters.crm.base import DealFilter

    crm = LocalCrm(engine)
    company = add(crm, "company", name="Totals Ltd")
    for i, (stage, amount, currency) in enumerate([("lead", "100.50", "EUR"), ("lead", "200", "EUR"),
                                                    ("lead", "70", "USD"), ("qualified", "5", "EUR")]):
        add(crm, "deal", name=f"T{i}", company_id=company, stage=stage, amount=amount, currency=currency,
            close_date=date(2027, 1, 1 + i), owner="U01ALICE" if i % 2 else "U02BOB")
    totals = [(t.stage, t.currency, t.count, str(t.amount)) for t in crm.deal_totals(DealFilter(open_only=True))]
    assert totals == [("lead", "EUR", 2, "300.50"), ("lead", "USD", 1, "70.00"), ("qualified", "EUR", 1, "5.00")]
    team = DealFilter(owners=("U01ALICE",))
    assert crm.count_deals(team) == len(crm.list_deals(team)) == 2
    assert crm.count_deals(DealFilter(owners=())) == 0
