"""Lead score and churn risk: hand-computed cases, thresholds at their edges, monotonicity, bounds."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine

from adapters.crm.base import NotFoundError
from adapters.crm.local import demo
from adapters.crm.local.adapter import LocalCrm
from bot import scoring
from bot.scoring import Score, churn_risk, lead_score

# A fixed clock: every time the scores read is set explicitly below, relative to it.
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
Add = Callable[..., Any]


@pytest.fixture
def crm(sqlite_engine: Engine) -> LocalCrm:
    """A CRM on SQLite only, for the cases that do not depend on the database."""
    return LocalCrm(sqlite_engine)


def adder(crm: LocalCrm) -> Add:
    """add(record_kind, **fields) -> the created record, each write under a key of its own."""
    keys = itertools.count()

    def add(record_kind: Any, /, **fields: Any) -> Any:  # positional: activities have a `kind` field
        return crm.create(record_kind, fields, idempotency_key=f"k{next(keys)}").record
    return add


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def points(score: Score) -> dict[str, int]:
    return {f.name: f.points for f in score.factors}


def test_lead_score_hand_computed(engine) -> None:  # type: ignore[no-untyped-def]
    crm = LocalCrm(engine)
    add = adder(crm)
    company = add("company", name="Acme", employees=300)
    lead = add("contact", first_name="Ada", last_name="Lind", company_id=company.id,
               title="VP Sales", lead_source="Referral")
    other = add("contact", first_name="Bo", last_name="Berg", company_id=company.id)
    for kind, days in (("meeting", 2), ("call", 10), ("email", 20), ("note", 40), ("task", 1), ("meeting", -3)):
        add("activity", kind=kind, subject=kind, contact_id=lead.id, occurred_at=ago(days))
    add("activity", kind="meeting", subject="not hers", contact_id=other.id, occurred_at=ago(1))
    add("deal", name="Main", company_id=company.id, contact_id=lead.id, stage="proposal", amount=30_000)
    add("deal", name="Add-on", company_id=company.id, contact_id=lead.id, stage="lead", amount=5_000)
    add("deal", name="Won", company_id=company.id, contact_id=lead.id, stage="closed_won", amount=1_000_000)

    score = lead_score(crm, lead.id, now=NOW)

    # Meeting 8 + call 5 + email 3 (the note is 40 days old, tasks and the future meeting do not count).
    assert points(score) == {"engagement": 16, "recency": 15, "deal_stage": 11, "deal_value": 7,
                             "seniority": 12, "company_size": 7, "lead_source": 5}
    assert (score.kind, score.record_id, score.score, score.band) == ("lead_score", lead.id, 73, "high")
    values = {f.name: f.value for f in score.factors}
    assert values == {"engagement": 16, "recency": 2, "deal_stage": "proposal", "deal_value": "35000.00",
                      "seniority": "VP Sales", "company_size": 300, "lead_source": "referral"}
    assert score.factors[0].explanation == "1 meeting × 8 + 1 call × 5 + 1 email × 3 = 16 in the last 30 days"


def test_churn_risk_hand_computed(engine) -> None:  # type: ignore[no-untyped-def]
    crm = LocalCrm(engine)
    add = adder(crm)
    company = add("company", name="Globex")
    for priority, status, due in (("urgent", "open", ago(0.1)), ("high", "pending", ago(-2)),
                                  ("normal", "open", ago(3)), ("urgent", "solved", ago(9))):
        add("ticket", subject=priority, company_id=company.id, priority=priority, status=status, sla_due_at=due)
    # One touch in the last 30 days against six in the 60 before: 2/3 fewer per 30 days.
    for days in (20, 35, 40, 50, 60, 70, 89):
        add("activity", kind="call", subject="c", company_id=company.id, occurred_at=ago(days))
    add("activity", kind="task", subject="t", company_id=company.id, occurred_at=ago(1))
    # Two recent losses (one before its close date) give 16, capped at 15; the 2025 loss is too old.
    add("deal", name="Lost", company_id=company.id, amount=1, stage="closed_lost", close_date=date(2026, 10, 23))
    add("deal", name="Lost early", company_id=company.id, amount=1, stage="closed_lost", close_date=date(2027, 3, 1))
    add("deal", name="Old loss", company_id=company.id, amount=1, stage="closed_lost", close_date=date(2025, 1, 1))
    add("deal", name="Won", company_id=company.id, amount=1, stage="closed_won", close_date=NOW.date())

    score = churn_risk(crm, company.id, now=NOW)

    assert points(score) == {"escalations": 15, "sla_breaches": 20, "silence": 5,
                             "activity_trend": 10, "lost_deals": 15, "no_open_deals": 10}
    assert (score.kind, score.record_id, score.score, score.band) == ("churn_risk", company.id, 75, "high")
    values = {f.name: f.value for f in score.factors}
    assert values == {"escalations": 15, "sla_breaches": 2, "silence": 20, "activity_trend": 67,
                      "lost_deals": 2, "no_open_deals": True}


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, 15), (7, 15), (7.5, 15), (8, 12), (14, 12), (15, 8), (30, 8), (31, 4), (60, 4), (61, 2), (89, 2), (91, 0)],
)
def test_lead_recency_steps(crm: LocalCrm, days: float, expected: int) -> None:
    add = adder(crm)
    contact = add("contact", first_name="A", last_name="B")
    add("activity", kind="email", subject="e", contact_id=contact.id, occurred_at=ago(days))
    assert points(lead_score(crm, contact.id, now=NOW))["recency"] == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [("Chief Operating Officer", 15), ("CTO", 15), ("Co-Founder", 15), ("President", 15),
     ("Vice President of Sales", 12), ("SVP Operations", 12), ("Head of IT", 10), ("Finance Director", 10),
     ("Support Team Lead", 5), ("IT Manager", 5), ("Operations Analyst", 0), ("Directory admin", 0), (None, 0)],
)
def test_lead_seniority_keywords(crm: LocalCrm, title: str | None, expected: int) -> None:
    contact = adder(crm)("contact", first_name="A", last_name="B", title=title)
    assert points(lead_score(crm, contact.id, now=NOW))["seniority"] == expected


@pytest.mark.parametrize(
    ("employees", "source", "size_points", "source_points"),
    [(None, None, 0, 0), (9, "outbound", 0, 1), (10, "website", 2, 2), (50, "webinar", 4, 3),
     (249, "partner", 4, 4), (250, "event", 7, 4), (1000, "referral", 10, 5), (5000, "cold call", 10, 0)],
)
def test_lead_company_size_and_source(
    crm: LocalCrm, employees: int | None, source: str | None, size_points: int, source_points: int
) -> None:
    add = adder(crm)
    company = add("company", name="C", employees=employees)
    contact = add("contact", first_name="A", last_name="B", company_id=company.id, lead_source=source)
    got = points(lead_score(crm, contact.id, now=NOW))
    assert (got["company_size"], got["lead_source"]) == (size_points, source_points)


def test_a_recent_meeting_raises_the_lead_score(crm: LocalCrm) -> None:
    add = adder(crm)
    contact = add("contact", first_name="A", last_name="B", title="Head of Support")
    add("activity", kind="note", subject="n", contact_id=contact.id, occurred_at=ago(45))
    before = lead_score(crm, contact.id, now=NOW)
    add("activity", kind="meeting", subject="m", contact_id=contact.id, occurred_at=ago(1))
    after = lead_score(crm, contact.id, now=NOW)
    # Engagement 0 -> 8, recency 4 (45 days) -> 15.
    assert after.score - before.score == 8 + 11


def test_engagement_is_capped_at_its_weight(crm: LocalCrm) -> None:
    add = adder(crm)
    contact = add("contact", first_name="A", last_name="B")
    for i in range(5):
        add("activity", kind="meeting", subject="m", contact_id=contact.id, occurred_at=ago(i))
    engagement = lead_score(crm, contact.id, now=NOW).factors[0]
    assert (engagement.value, engagement.points) == (40, 30) and engagement.explanation.endswith("capped at 30")


@pytest.mark.parametrize("breached", [False, True])
def test_more_urgent_tickets_raise_churn_risk_until_the_cap(crm: LocalCrm, breached: bool) -> None:
    add = adder(crm)
    company = add("company", name="C")
    add("deal", name="Open", company_id=company.id, amount=1, stage="qualified")
    add("activity", kind="call", subject="c", company_id=company.id, occurred_at=ago(1))
    due = ago(1) if breached else ago(-1)
    scores = []
    for _ in range(4):
        scores.append(churn_risk(crm, company.id, now=NOW).score)
        add("ticket", subject="down", company_id=company.id, priority="urgent", sla_due_at=due)
    scores.append(churn_risk(crm, company.id, now=NOW).score)
    assert scores == ([0, 20, 40, 40, 40] if breached else [0, 10, 20, 20, 20])


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, 0), (14, 0), (15, 5), (30, 5), (31, 10), (60, 10), (61, 15), (89, 15), (91, 20)],
)
def test_churn_silence_steps(crm: LocalCrm, days: int, expected: int) -> None:
    add = adder(crm)
    company = add("company", name="C")
    add("activity", kind="note", subject="n", company_id=company.id, occurred_at=ago(days))
    assert points(churn_risk(crm, company.id, now=NOW))["silence"] == expected


@pytest.mark.parametrize(
    ("previous", "recent", "expected"),
    [(3, 0, 0), (4, 0, 15), (8, 1, 15), (8, 2, 10), (6, 1, 10), (8, 3, 5), (6, 2, 5), (6, 3, 0), (4, 9, 0)],
)
def test_churn_activity_trend(crm: LocalCrm, previous: int, recent: int, expected: int) -> None:
    add = adder(crm)
    company = add("company", name="C")
    for i in range(previous):
        add("activity", kind="email", subject="e", company_id=company.id, occurred_at=ago(31 + i))
    for i in range(recent):
        add("activity", kind="email", subject="e", company_id=company.id, occurred_at=ago(1 + i))
    assert points(churn_risk(crm, company.id, now=NOW))["activity_trend"] == expected


@pytest.mark.parametrize(
    ("days_before", "expected"), [((), 0), ((90,), 8), ((91,), 0), ((-30,), 8), ((0, 91), 8), ((10, 20), 15)]
)
def test_churn_lost_deals(crm: LocalCrm, days_before: tuple[int, ...], expected: int) -> None:
    add = adder(crm)
    company = add("company", name="C")
    for days in days_before:
        add("deal", name=f"L{days}", company_id=company.id, amount=1, stage="closed_lost",
            close_date=NOW.date() - timedelta(days=days))
    assert points(churn_risk(crm, company.id, now=NOW))["lost_deals"] == expected


def test_unknown_records_and_naive_clocks_are_refused(crm: LocalCrm) -> None:
    with pytest.raises(NotFoundError, match="contact 4242 does not exist"):
        lead_score(crm, 4242, now=NOW)
    with pytest.raises(NotFoundError, match="company 4242 does not exist"):
        churn_risk(crm, 4242, now=NOW)
    company = adder(crm)("company", name="C")
    with pytest.raises(ValueError, match="timezone-aware"):
        churn_risk(crm, company.id, now=NOW.replace(tzinfo=None))


def test_weights_of_each_score_add_up_to_100() -> None:
    assert sum(w for _, w in scoring.LEAD_WEIGHTS) == 100
    assert sum(w for _, w in scoring.CHURN_WEIGHTS) == 100


def test_demo_scores_add_up_are_deterministic_and_json_ready(sqlite_engine: Engine, crm: LocalCrm) -> None:
    demo.seed(sqlite_engine, scale=1, seed=7, today=NOW.date())
    scores = [lead_score(crm, i, now=NOW) for i in range(1, 301)] + [
        churn_risk(crm, i, now=NOW) for i in range(1, 201)
    ]
    bands = {"lead_score": scoring.LEAD_BANDS, "churn_risk": scoring.CHURN_BANDS}
    for s in scores:
        assert s.score == sum(f.points for f in s.factors)
        assert all(0 <= f.points <= f.weight for f in s.factors)
        assert s.band == next(name for least, name in bands[s.kind] if s.score >= least)
    # The demo data has every band of the lead score and more than one of churn risk.
    assert {s.band for s in scores if s.kind == "lead_score"} == {"low", "medium", "high"}
    assert len({s.band for s in scores if s.kind == "churn_risk"}) > 1
    again = lead_score(crm, 7, now=NOW)
    assert again == scores[6] and json.loads(json.dumps(again.to_dict())) == again.to_dict()
    assert again.to_dict()["factors"][0]["name"] == "engagement"


class _Counting:
    """Wraps a CRM and records each call: method name and limit."""

    def __init__(self, crm: LocalCrm) -> None:
        self.crm, self.calls = crm, []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs.get("limit")))
            return getattr(self.crm, name)(*args, **kwargs)
        return call


def test_each_score_costs_a_few_bounded_reads(crm: LocalCrm) -> None:
    add = adder(crm)
    company = add("company", name="C")
    contact = add("contact", first_name="A", last_name="B", company_id=company.id)
    counting = _Counting(crm)
    lead_score(counting, contact.id, now=NOW)  # type: ignore[arg-type]
    churn_risk(counting, company.id, now=NOW)  # type: ignore[arg-type]
    assert [name for name, _ in counting.calls] == [
        "get_contact", "list_activities", "get", "list_tickets", "list_activities", "list_deals", "list_deals",
    ]
    assert all(limit is not None and limit <= scoring.QUERY_LIMIT for name, limit in counting.calls
               if name.startswith("list_"))


def test_scores_of_many_records_equal_the_scores_one_by_one(sqlite_engine: Engine, crm: LocalCrm) -> None:
    demo.seed(sqlite_engine, scale=1, seed=7, today=NOW.date())
    contacts, companies = list(range(1, 61)), [crm.get("company", i) for i in range(1, 41)]
    counting = _Counting(crm)
    leads = scoring.lead_scores(counting, [*contacts, 999_999], now=NOW)  # type: ignore[arg-type]
    risks = scoring.churn_risks(counting, companies, now=NOW)  # type: ignore[arg-type]
    assert leads == {i: lead_score(crm, i, now=NOW) for i in contacts}  # the unknown contact is left out
    assert risks == {c.id: churn_risk(crm, c.id, now=NOW) for c in companies}  # type: ignore[union-attr]
    # The lists are read once per SHARED records, not once per record.
    lists = [name for name, _ in counting.calls if name.startswith("list_")]
    assert len(lists) == 61 // scoring.SHARED + 1 + 4 * (40 // scoring.SHARED)


def test_a_shared_read_that_may_be_cut_is_redone_record_by_record(crm: LocalCrm) -> None:
    add = adder(crm)
    busy, quiet = add("company", name="Busy"), add("company", name="Quiet")
    for i in range(scoring.QUERY_LIMIT // 2):  # enough for the shared read to look cut
        add("activity", kind="call", subject=f"c{i}", company_id=busy.id, occurred_at=ago(1 + i % 80))
    add("activity", kind="call", subject="q", company_id=quiet.id, occurred_at=ago(70))
    counting = _Counting(crm)
    risks = scoring.churn_risks(counting, [busy, quiet], now=NOW)  # type: ignore[arg-type]
    assert risks == {busy.id: churn_risk(crm, busy.id, now=NOW), quiet.id: churn_risk(crm, quiet.id, now=NOW)}
    assert [name for name, _ in counting.calls].count("list_activities") == 1 + 2  # shared, then one each
