"""The digest sections, each computed from the CRM (and the pending proposals) without the model.

Every builder returns a Section, or None when it has nothing to say: empty sections are left out
of the digest. Each build reads through the CRM it is given (the digest service passes a view
limited to what every member of the channel may see), so no section, count or total includes a
record outside it. Pending proposals are listed only when they were made in the digest's own
channel: everyone there could already read them. Lines hold real names for the people reading the
channel (owners by their CRM name); nothing here goes to the model (the optional summary is masked
on its way there, see summary.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from adapters.crm.base import (
    OPEN_DEAL_STAGES,
    OPEN_TICKET_STATUSES,
    ContactFilter,
    CrmAdapter,
    Deal,
    DealFilter,
    StageTotal,
    Ticket,
    TicketFilter,
)
from bot.config import DigestSectionsSection
from bot.formats import money
from bot.records import Line, Section
from bot.scoring import CHURN_LOST_DAYS, churn_risks, lead_scores

ESCALATED = ("high", "urgent")
TITLES = {
    "pipeline_movement": "Pipeline movement",
    "closing_soon": "Closing soon",
    "stale_deals": "Stale deals",
    "new_leads": "New leads",
    "at_risk_accounts": "Accounts at risk",
    "ticket_alerts": "Tickets needing attention",
    "pending_proposals": "Proposals waiting for a decision",
}


class PendingProposal(Protocol):
    id: str
    summary: str
    risk: str
    requester: str
    created_at: datetime
    channel: str | None


@dataclass(frozen=True)
class Scope:
    """Whose records a digest covers: everyone (owners None) or the listed owners."""

    owners: tuple[str, ...] | None = None

    def covers(self, owner: str | None) -> bool:
        return self.owners is None or owner in self.owners


@dataclass
class _Build:
    """One digest being built: the CRM it reads, its scope, channel and period, and what its sections
    share (read once)."""

    crm: CrmAdapter
    scope: Scope
    since: datetime
    now: datetime
    channel: str | None = None
    alert_tickets: tuple[list[Ticket], list[Ticket]] | None = None  # (past their SLA, escalated)
    owner_names: dict[str, str] | None = None

    def owner_name(self, owner: str | None) -> str | None:
        """An owner as people know them: their CRM name (read once per digest), else the id."""
        if owner is None:
            return None
        if self.owner_names is None:
            self.owner_names = {o.id: o.name for o in self.crm.owners()}
        return self.owner_names.get(owner, owner)

    def deal_line(self, deal: Deal, prefix: str, actions: tuple[Any, ...] = ()) -> Line:
        return Line(f"{prefix}{deal.name}, {money(deal.amount, deal.currency)} at {deal.stage}", ("deal", deal.id),
                    actions, self.owner_name(deal.owner))


class SectionBuilder:
    """Builds each section of a digest from the CRM and the pending proposals."""

    def __init__(self, crm: CrmAdapter, pending: Callable[[], Sequence[PendingProposal]],
                 settings: DigestSectionsSection) -> None:
        self.crm, self._pending, self._settings = crm, pending, settings

    def build_all(self, keys: Sequence[str], *, scope: Scope, since: datetime, now: datetime,
                  crm: CrmAdapter | None = None, channel: str | None = None) -> tuple[Section, ...]:
        """The sections named by their config names, in order; empty ones left out. `crm` is what
        this build may read (by default the whole CRM); `channel` the digest's, for its proposals."""
        build = _Build(crm or self.crm, scope, since, now, channel)
        built = (getattr(self, f"_{key}")(build) for key in keys)
        return tuple(s for s in built if s is not None)

    def build(self, key: str, *, scope: Scope, since: datetime, now: datetime, crm: CrmAdapter | None = None,
              channel: str | None = None) -> Section | None:
        """One section by its config name; None when empty."""
        return next(iter(self.build_all((key,), scope=scope, since=since, now=now, crm=crm, channel=channel)), None)

    # -- deals --------------------------------------------------------------------------------

    def _pipeline_movement(self, b: _Build) -> Section | None:
        owners, since, count = b.scope.owners, b.since, b.crm.count_deals
        created = count(DealFilter(owners=owners, created_since=since))
        # A new deal's stage "changed" when it was created: moved counts only the older deals.
        moved = (count(DealFilter(owners=owners, stages=OPEN_DEAL_STAGES, stage_changed_since=since))
                 - count(DealFilter(owners=owners, stages=OPEN_DEAL_STAGES, stage_changed_since=since,
                                    created_since=since)))
        changed = b.crm.deal_totals(DealFilter(owners=owners, stages=("closed_won", "closed_lost"),
                                               stage_changed_since=since))
        won = [t for t in changed if t.stage == "closed_won"]
        lost = [t for t in changed if t.stage == "closed_lost"]
        if not (created or moved or won or lost):
            return None
        lines = [Line(f"{created} created"), Line(f"{moved} moved to another open stage"),
                 Line(f"{sum(t.count for t in won)} won ({_money(won) or 'nothing'})"),
                 Line(f"{sum(t.count for t in lost)} lost ({_money(lost) or 'nothing'})")]
        closed = b.crm.list_deals(DealFilter(owners=owners, stages=("closed_won", "closed_lost"),
                                             stage_changed_since=since), limit=self._settings.thread_lines)
        lines += [b.deal_line(d, "won: " if d.stage == "closed_won" else "lost: ") for d in closed]
        pipeline = b.crm.deal_totals(DealFilter(owners=owners, open_only=True))
        stages = {t.stage: [u for u in pipeline if u.stage == t.stage] for t in pipeline}
        note = "Open pipeline by stage: " + ("; ".join(f"{stage} {sum(t.count for t in totals)} ({_money(totals)})"
                                                       for stage, totals in stages.items()) if pipeline else "empty")
        return Section("pipeline_movement", TITLES["pipeline_movement"], tuple(lines), len(lines), note)

    def _closing_soon(self, b: _Build) -> Section | None:
        today = b.now.date()
        where = DealFilter(owners=b.scope.owners, open_only=True, closing_from=today,
                           closing_to=today + timedelta(days=self._settings.closing_days))
        return self._deal_section(b, "closing_soon", where, lambda d: f"closes {d.close_date:%a %d %b}: ", ())

    def _stale_deals(self, b: _Build) -> Section | None:
        days = self._settings.stale_days
        where = DealFilter(owners=b.scope.owners, open_only=True, no_activity_since=b.now - timedelta(days=days))

        def quiet(deal: Deal) -> str:
            last = deal.last_activity_at
            return f"quiet for {(b.now - last).days} days: " if last else "no activity yet: "

        return self._deal_section(b, "stale_deals", where, quiet, ("follow_up", "snooze"),
                                  note=f"Open deals with no activity in {days} days, soonest close date first.")

    def _deal_section(self, b: _Build, key: str, where: DealFilter, prefix: Callable[[Deal], str],
                      actions: tuple[Any, ...], note: str = "") -> Section | None:
        total = b.crm.count_deals(where)
        if not total:
            return None
        deals = b.crm.list_deals(where, limit=self._settings.thread_lines)
        return Section(key, TITLES[key], tuple(b.deal_line(d, prefix(d), actions) for d in deals), total, note)

    # -- scored records -----------------------------------------------------------------------

    def _new_leads(self, b: _Build) -> Section | None:
        contacts = b.crm.list_contacts(ContactFilter(lifecycle_stages=("lead",), owners=b.scope.owners,
                                                     created_since=b.since),
                                       limit=self._settings.scored_candidates)
        # Scored together: the reads of several contacts are shared (a CRM behind a rate limit feels it).
        scores = lead_scores(b.crm, [c.id for c in contacts], now=b.now)
        scored = [(scores[c.id], c) for c in contacts if c.id in scores]  # a contact deleted meanwhile is left out
        if not scored:
            return None
        scored.sort(key=lambda pair: (-pair[0].score, pair[1].id))
        lines = tuple(Line(f"{c.full_name}{f', {c.title}' if c.title else ''}: lead score {s.score} ({s.band})",
                           ("contact", c.id)) for s, c in scored)
        return Section("new_leads", TITLES["new_leads"], lines, len(lines),
                       f"Leads created since the last digest, best first (of at most {self._settings.scored_candidates}).")

    def _at_risk_accounts(self, b: _Build) -> Section | None:
        scored = []
        candidates = self._risk_candidates(b)
        risks = churn_risks(b.crm, candidates, now=b.now)
        for company in candidates:
            risk = risks[company.id]
            if risk.band != "low":
                top = max(risk.factors, key=lambda f: f.points)
                scored.append((risk, company, top.explanation))
        if not scored:
            return None
        scored.sort(key=lambda item: (-item[0].score, item[1].id))
        lines = tuple(Line(f"{c.name}: churn risk {r.score} ({r.band}); {why}", ("company", c.id),
                           ("follow_up", "snooze")) for r, c, why in scored)
        return Section("at_risk_accounts", TITLES["at_risk_accounts"], lines, len(lines),
                       "Accounts with escalated or overdue tickets or recently lost deals, scored by churn risk.")

    def _risk_candidates(self, b: _Build) -> list[Any]:
        """Companies in scope with a churn signal a query can find (an open ticket past its SLA, an
        open escalated ticket, a recently lost deal), most signals first, at most `scored_candidates`.
        Scoring every company would not fit a digest's time budget on a large CRM."""
        signals: Counter[int] = Counter()
        for weight, tickets in zip((2, 1), self._alert_tickets(b), strict=True):
            for ticket in tickets:
                signals[ticket.company_id] += weight
        lost = b.crm.list_deals(DealFilter(stages=("closed_lost",),
                                           closing_from=b.now.date() - timedelta(days=CHURN_LOST_DAYS)), limit=500)
        for deal in lost:
            signals[deal.company_id] += 1
        ranked = sorted(signals.items(), key=lambda item: (-item[1], item[0]))
        found = []
        for company_id, _ in ranked:  # in rank order until enough of them are in scope
            company = b.crm.get("company", company_id)
            if company is not None and b.scope.covers(getattr(company, "owner", None)):
                found.append(company)
                if len(found) == self._settings.scored_candidates:
                    break
        return found

    # -- tickets and proposals ----------------------------------------------------------------

    def _alert_tickets(self, b: _Build) -> tuple[list[Ticket], list[Ticket]]:
        """Open tickets past their SLA, and open escalated ones: read once per digest, since both
        the ticket section and the at-risk candidates use them."""
        if b.alert_tickets is None:
            b.alert_tickets = (
                b.crm.list_tickets(TicketFilter(statuses=OPEN_TICKET_STATUSES, sla_breached_at=b.now), limit=500),
                b.crm.list_tickets(TicketFilter(statuses=OPEN_TICKET_STATUSES, priorities=ESCALATED), limit=500),
            )
        return b.alert_tickets

    def _ticket_alerts(self, b: _Build) -> Section | None:
        breached, escalated = self._alert_tickets(b)
        seen: dict[int, str] = {}
        for ticket in breached:
            if b.scope.covers(ticket.owner):
                seen[ticket.id] = f"SLA breached {_ago(b.now, ticket.sla_due_at)}, {ticket.priority}: {ticket.subject}"
        for ticket in escalated:
            if b.scope.covers(ticket.owner) and ticket.id not in seen:
                seen[ticket.id] = f"{ticket.priority}, {ticket.status}: {ticket.subject}"
        if not seen:
            return None
        lines = tuple(Line(text, ("ticket", tid)) for tid, text in seen.items())
        return Section("ticket_alerts", TITLES["ticket_alerts"], lines, len(lines),
                       "Open tickets past their SLA, then open high and urgent ones.")

    def _pending_proposals(self, b: _Build) -> Section | None:
        hours = self._settings.pending_hours
        # Only this channel's proposals: its members could read them where they were made.
        waiting = [p for p in self._pending() if p.created_at <= b.now - timedelta(hours=hours)
                   and b.channel is not None and p.channel == b.channel and b.scope.covers(p.requester)]
        if not waiting:
            return None
        waiting.sort(key=lambda p: p.created_at)
        lines = tuple(Line(f"{p.summary} ({p.risk} risk, asked {_ago(b.now, p.created_at)}, `{p.id}`)")
                      for p in waiting)
        return Section("pending_proposals", TITLES["pending_proposals"], lines, len(lines),
                       f"Waiting more than {hours:g} hours; `/crm pending` shows those you may decide on.")


def _money(totals: Sequence[StageTotal]) -> str:
    by_currency: dict[str, Decimal] = {}
    for t in totals:
        by_currency[t.currency] = by_currency.get(t.currency, Decimal(0)) + t.amount
    return ", ".join(money(amount, currency) for currency, amount in sorted(by_currency.items()))


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return ""
    hours = int((now - then).total_seconds() // 3600)
    return f"{hours // 24} days ago" if hours >= 48 else f"{hours} hour{'' if hours == 1 else 's'} ago"
