"""Deterministic, explainable scores: how promising a lead is and how likely a company is to churn.

Each score is the sum of a few factors' points, clamped to 0..100. A factor's weight is the most
points it can give, and the weights of one score add up to 100. Every threshold is a constant
below; docs/scoring.md gives the formulas and a worked example. The clock is a parameter (`now`),
so the same CRM state and the same `now` always give the same score. Scoring many records at once
(`lead_scores`, `churn_risks`, for digests) gives exactly the scores one by one, with each list read
shared by a few records; a shared read that may have been cut is redone record by record.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from adapters.crm.base import (
    OPEN_TICKET_STATUSES,
    Activity,
    ActivityFilter,
    Company,
    ContactDetail,
    CrmAdapter,
    Deal,
    DealFilter,
    NotFoundError,
    Ticket,
    TicketFilter,
)

R = TypeVar("R")

# Activities that are contact with the customer; tasks are reminders, so they never count.
TOUCH_KINDS = ("meeting", "call", "email", "note")
# The most rows one query reads; a record busier than this is scored on its newest rows.
QUERY_LIMIT = 500
# Records whose lists one read serves when many are scored (a digest): five fill one HubSpot search.
SHARED = 5

# -- lead score ---------------------------------------------------------------------------------
LEAD_WEIGHTS = (
    ("engagement", 30), ("recency", 15), ("deal_stage", 15), ("deal_value", 10),
    ("seniority", 15), ("company_size", 10), ("lead_source", 5),
)
LEAD_ENGAGEMENT_DAYS = 30
LEAD_KIND_POINTS = (("meeting", 8), ("call", 5), ("email", 3), ("note", 1))
LEAD_RECENCY_DAYS = 90  # how far back activities are read
# (at most this many days since the last touch, points); older than the last step gives 0.
LEAD_RECENCY_STEPS = ((7, 15), (14, 12), (30, 8), (60, 4), (90, 2))
LEAD_STAGE_POINTS = (("lead", 3), ("qualified", 7), ("proposal", 11), ("negotiation", 15))
# (open amount at least, points), in the deals' own currency, not converted.
LEAD_VALUE_STEPS = ((Decimal(100_000), 10), (Decimal(25_000), 7), (Decimal(5_000), 4), (Decimal("0.01"), 2))
# (tier, pattern on the title, points); the first tier that matches wins.
LEAD_SENIORITY_TIERS = (
    ("executive", r"\b(chief|ceo|cto|cfo|coo|cio|cmo|cro|ciso|founder|co-?founder|managing director"
                  r"|(?<!vice )president)\b", 15),
    ("vice president", r"\b(vp|svp|evp|vice president)\b", 12),
    ("head or director", r"\b(head|director)\b", 10),
    ("manager or lead", r"\b(manager|lead)\b", 5),
)
LEAD_SIZE_STEPS = ((1000, 10), (250, 7), (50, 4), (10, 2))  # (employees at least, points)
LEAD_SOURCE_POINTS = (
    ("referral", 5), ("event", 4), ("partner", 4), ("webinar", 3), ("website", 2), ("outbound", 1),
)
LEAD_BANDS = ((65, "high"), (35, "medium"), (0, "low"))  # (score at least, band)

# -- churn risk ---------------------------------------------------------------------------------
CHURN_WEIGHTS = (
    ("escalations", 20), ("sla_breaches", 20), ("silence", 20),
    ("activity_trend", 15), ("lost_deals", 15), ("no_open_deals", 10),
)
CHURN_PRIORITY_POINTS = (("urgent", 10), ("high", 5))  # per open or pending ticket
CHURN_BREACH_POINTS = 10  # per open or pending ticket whose SLA is past due
# (more than this many days since the last touch, points); no touch in 90 days gives the weight.
CHURN_SILENCE_STEPS = ((60, 15), (30, 10), (14, 5))
CHURN_RECENT_DAYS = 30
CHURN_PREVIOUS_DAYS = 60  # the window before the recent one, compared per 30 days
CHURN_TREND_MIN_PREVIOUS = 4  # fewer touches than this before is no baseline to decline from
CHURN_TREND_STEPS = ((Fraction(3, 4), 15), (Fraction(1, 2), 10), (Fraction(1, 4), 5))  # (drop at least, points)
CHURN_LOST_DAYS = 90
CHURN_LOST_POINTS = 8  # per lost deal whose close date is at most 90 days ago (or still ahead)
CHURN_BANDS = ((50, "high"), (25, "medium"), (0, "low"))


@dataclass(frozen=True)
class Factor:
    """One input of a score: what was measured (value), its cap (weight) and what it added (points)."""

    name: str
    value: int | str | bool | None
    weight: int
    points: int
    explanation: str


@dataclass(frozen=True)
class Score:
    """A 0..100 score with the factors it is the (clamped) sum of."""

    kind: str
    record_id: int
    score: int
    band: str
    factors: tuple[Factor, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready data, for tool results and digests."""
        return asdict(self) | {"factors": [asdict(f) for f in self.factors]}


def lead_score(crm: CrmAdapter, contact_id: int, *, now: datetime) -> Score:
    """How promising a contact is as a lead; raises NotFoundError for an unknown contact."""
    _check_now(now)
    detail = crm.get_contact(contact_id)
    if detail is None:
        raise NotFoundError("contact", contact_id)
    touches = _touches(crm, ActivityFilter(contact_id=contact_id, since=now - timedelta(days=LEAD_RECENCY_DAYS)), now)
    return _lead(detail, touches, now)


def lead_scores(crm: CrmAdapter, contact_ids: Sequence[int], *, now: datetime) -> dict[int, Score]:
    """lead_score of each contact that exists (the others are left out), the same scores, with the
    activity reads shared by SHARED contacts at a time."""
    _check_now(now)
    scores: dict[int, Score] = {}
    for chunk in _chunks(contact_ids):
        since = now - timedelta(days=LEAD_RECENCY_DAYS)
        touches = _shared(crm.list_activities(ActivityFilter(contact_ids=chunk, since=since, kinds=TOUCH_KINDS),
                                              limit=QUERY_LIMIT), "contact_id")
        for contact_id in chunk:
            detail = crm.get_contact(contact_id)
            if detail is None:
                continue
            mine = ([a for a in touches.get(contact_id, ()) if a.occurred_at <= now] if touches is not None
                    else _touches(crm, ActivityFilter(contact_id=contact_id, since=since), now))
            scores[contact_id] = _lead(detail, mine, now)
    return scores


def _lead(detail: ContactDetail, touches: list[Activity], now: datetime) -> Score:
    contact = detail.contact
    weights = dict(LEAD_WEIGHTS)

    recent = Counter(a.kind for a in touches if a.occurred_at >= now - timedelta(days=LEAD_ENGAGEMENT_DAYS))
    raw = sum(recent[kind] * pts for kind, pts in LEAD_KIND_POINTS)
    terms = " + ".join(f"{_n(recent[k], k)} × {p}" for k, p in LEAD_KIND_POINTS if recent[k])
    engagement = _factor("engagement", raw, weights, raw, f"{terms} = {raw} in the last {LEAD_ENGAGEMENT_DAYS} days"
                         if terms else f"no touch in the last {LEAD_ENGAGEMENT_DAYS} days")

    if touches:
        days = (now - touches[0].occurred_at).days
        pts = next((p for limit, p in LEAD_RECENCY_STEPS if days <= limit), 0)
        recency = _factor("recency", days, weights, pts, _ago(days))
    else:
        recency = _factor("recency", None, weights, 0, f"no touch in the last {LEAD_RECENCY_DAYS} days")

    stage_points = dict(LEAD_STAGE_POINTS)
    best = max((d.stage for d in detail.open_deals), key=lambda s: stage_points.get(s, 0), default=None)
    stage = _factor("deal_stage", best, weights, stage_points.get(best or "", 0),
                    f"most advanced open deal is at {best}" if best else "no open deal")

    total = sum((d.amount for d in detail.open_deals), Decimal(0))
    pts = next((p for least, p in LEAD_VALUE_STEPS if total >= least), 0)
    value = _factor("deal_value", str(total), weights, pts,
                    f"{_n(len(detail.open_deals), 'open deal')} worth {total:,} in total")

    title = contact.title or ""
    tier, pts = next(((t, p) for t, rx, p in LEAD_SENIORITY_TIERS if re.search(rx, title, re.I)), (None, 0))
    seniority = _factor("seniority", contact.title, weights, pts,
                        f"title reads as {tier}" if tier else "no senior keyword in the title")

    employees = detail.company.employees if detail.company else None
    pts = next((p for least, p in LEAD_SIZE_STEPS if employees is not None and employees >= least), 0)
    size = _factor("company_size", employees, weights, pts,
                   f"{employees:,} employees" if employees is not None else "company size unknown")

    source = (contact.lead_source or "").strip().lower() or None
    pts = dict(LEAD_SOURCE_POINTS).get(source or "", 0)
    lead_source = _factor("lead_source", source, weights, pts,
                          f"came from {source}" if source else "lead source unknown")

    factors = (engagement, recency, stage, value, seniority, size, lead_source)
    return _score("lead_score", contact.id, factors, LEAD_BANDS)


def churn_risk(crm: CrmAdapter, company_id: int, *, now: datetime) -> Score:
    """How likely a company is to churn; raises NotFoundError for an unknown company."""
    _check_now(now)
    if crm.get("company", company_id) is None:
        raise NotFoundError("company", company_id)
    tickets = crm.list_tickets(
        TicketFilter(company_id=company_id, statuses=OPEN_TICKET_STATUSES), limit=QUERY_LIMIT
    )
    window = CHURN_RECENT_DAYS + CHURN_PREVIOUS_DAYS
    touches = _touches(crm, ActivityFilter(company_id=company_id, since=now - timedelta(days=window)), now)
    # No upper bound: a lost deal whose close date is still ahead was lost before it was due.
    lost = crm.list_deals(DealFilter(
        company_id=company_id, stages=("closed_lost",), closing_from=now.date() - timedelta(days=CHURN_LOST_DAYS),
    ), limit=QUERY_LIMIT)
    has_open = bool(crm.list_deals(DealFilter(company_id=company_id, open_only=True), limit=1))
    return _churn(company_id, tickets, touches, lost, has_open, now)


def churn_risks(crm: CrmAdapter, companies: Sequence[Company], *, now: datetime) -> dict[int, Score]:
    """churn_risk of each of the companies (records the caller has read), the same scores, with the
    ticket, activity and deal reads shared by SHARED companies at a time."""
    _check_now(now)
    scores: dict[int, Score] = {}
    window = CHURN_RECENT_DAYS + CHURN_PREVIOUS_DAYS
    for chunk in _chunks([c.id for c in companies]):
        tickets = _shared(crm.list_tickets(TicketFilter(company_ids=chunk, statuses=OPEN_TICKET_STATUSES),
                                           limit=QUERY_LIMIT), "company_id")
        touches = _shared(crm.list_activities(ActivityFilter(company_ids=chunk, since=now - timedelta(days=window),
                                                             kinds=TOUCH_KINDS), limit=QUERY_LIMIT), "company_id")
        lost = _shared(crm.list_deals(DealFilter(company_ids=chunk, stages=("closed_lost",), closing_from=now.date()
                                                 - timedelta(days=CHURN_LOST_DAYS)), limit=QUERY_LIMIT), "company_id")
        open_deals = _shared(crm.list_deals(DealFilter(company_ids=chunk, open_only=True), limit=QUERY_LIMIT),
                             "company_id")
        if tickets is None or touches is None or lost is None or open_deals is None:
            for company_id in chunk:  # a shared read may have been cut: one by one
                try:
                    scores[company_id] = churn_risk(crm, company_id, now=now)
                except NotFoundError:  # deleted meanwhile
                    continue
            continue
        for company_id in chunk:
            mine = [a for a in touches.get(company_id, ()) if a.occurred_at <= now]
            scores[company_id] = _churn(company_id, tickets.get(company_id, []), mine, lost.get(company_id, []),
                                        bool(open_deals.get(company_id)), now)
    return scores


def _churn(company_id: int, tickets: list[Ticket], touches: list[Activity], lost: list[Deal], has_open: bool,
           now: datetime) -> Score:
    weights = dict(CHURN_WEIGHTS)
    by_priority = Counter(t.priority for t in tickets)
    raw = sum(by_priority[p] * pts for p, pts in CHURN_PRIORITY_POINTS)
    terms = " + ".join(f"{by_priority[p]} {p} × {pts}" for p, pts in CHURN_PRIORITY_POINTS if by_priority[p])
    escalations = _factor("escalations", raw, weights, raw,
                          f"open tickets: {terms} = {raw}" if terms else "no open high or urgent ticket")

    breached = sum(1 for t in tickets if t.sla_due_at is not None and t.sla_due_at < now)
    raw = breached * CHURN_BREACH_POINTS
    sla = _factor("sla_breaches", breached, weights, raw,
                  f"{_n(breached, 'open ticket')} past the SLA due time × {CHURN_BREACH_POINTS} = {raw}"
                  if breached else "no open ticket past its SLA")

    window = CHURN_RECENT_DAYS + CHURN_PREVIOUS_DAYS
    if touches:
        days = (now - touches[0].occurred_at).days
        pts = next((p for more, p in CHURN_SILENCE_STEPS if days > more), 0)
        silence = _factor("silence", days, weights, pts, _ago(days))
    else:
        silence = _factor("silence", None, weights, weights["silence"], f"no touch in the last {window} days")

    split = now - timedelta(days=CHURN_RECENT_DAYS)
    recent = sum(1 for a in touches if a.occurred_at >= split)
    previous = len(touches) - recent
    if previous < CHURN_TREND_MIN_PREVIOUS:
        trend = _factor("activity_trend", None, weights, 0,
                        f"{_n(previous, 'touch')} in the {CHURN_PREVIOUS_DAYS} days before the last "
                        f"{CHURN_RECENT_DAYS}: too few to compare")
    else:
        drop = 1 - Fraction(recent * CHURN_PREVIOUS_DAYS, previous * CHURN_RECENT_DAYS)
        pts = next((p for least, p in CHURN_TREND_STEPS if drop >= least), 0)
        percent = round(drop * 100)
        trend = _factor("activity_trend", percent, weights, pts,
                        f"{_n(recent, 'touch')} in the last {CHURN_RECENT_DAYS} days against {previous} in the "
                        f"{CHURN_PREVIOUS_DAYS} before: {abs(percent)}% {'down' if drop >= 0 else 'up'} per 30 days")

    raw = len(lost) * CHURN_LOST_POINTS
    lost_deals = _factor("lost_deals", len(lost), weights, raw,
                         f"{_n(len(lost), 'lost deal')} closing in the last {CHURN_LOST_DAYS} days or later"
                         f" × {CHURN_LOST_POINTS} = {raw}"
                         if lost else f"no lost deal closing in the last {CHURN_LOST_DAYS} days")

    no_open = _factor("no_open_deals", not has_open, weights, 0 if has_open else weights["no_open_deals"],
                      "has an open deal" if has_open else "no open deal")

    factors = (escalations, sla, silence, trend, lost_deals, no_open)
    return _score("churn_risk", company_id, factors, CHURN_BANDS)


def _check_now(now: datetime) -> None:
    # CRM times are aware UTC; a naive `now` could not be compared with them.
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def _touches(crm: CrmAdapter, query: ActivityFilter, now: datetime) -> list[Activity]:
    """The touches the query finds, newest first, up to now: later ones have not happened yet."""
    found = crm.list_activities(replace(query, kinds=TOUCH_KINDS), limit=QUERY_LIMIT)
    return [a for a in found if a.occurred_at <= now]


def _chunks(ids: Sequence[int]) -> list[tuple[int, ...]]:
    unique = tuple(dict.fromkeys(ids))
    return [unique[i:i + SHARED] for i in range(0, len(unique), SHARED)]


def _shared(rows: Sequence[R], key: str) -> dict[int, list[R]] | None:
    """Rows of a read shared by several records, by record (newest first as read); None when the
    read came back so full that it may have been cut, so that no score rests on a cut list."""
    if len(rows) >= QUERY_LIMIT // 2:
        return None
    grouped: dict[int, list[R]] = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped


def _factor(name: str, value: int | str | bool | None, weights: dict[str, int], raw: int, why: str) -> Factor:
    """A factor whose points are raw capped at the factor's weight; the text says when it was capped."""
    weight = weights[name]
    points = max(0, min(raw, weight))
    if raw > weight:
        why = f"{why}, capped at {weight}"
    return Factor(name, value, weight, points, why)


def _ago(days: int) -> str:
    return "last touch less than a day ago" if days == 0 else f"last touch {_n(days, 'day')} ago"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 'es' if noun.endswith(('ch', 'sh')) else 's'}"


def _score(kind: str, record_id: int, factors: tuple[Factor, ...], bands: tuple[tuple[int, str], ...]) -> Score:
    total = max(0, min(100, sum(f.points for f in factors)))
    band = next(name for least, name in bands if total >= least)
    return Score(kind, record_id, total, band, factors)
