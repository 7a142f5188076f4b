"""The read tools: CRM look-ups, knowledge-base search and the two scores. They run at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.crm.base import (
    ACTIVITY_KINDS,
    DEAL_STAGES,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    ActivityFilter,
    Company,
    Contact,
    CrmAdapter,
    Deal,
    DealFilter,
    SearchHit,
    TicketFilter,
)
from adapters.kb.base import KnowledgeBase
from bot import scoring
from bot.actions.operations import json_value
from bot.agent.tools import Tool, ToolOutput

# Bookkeeping fields the model does not need (they cost tokens).
_HIDDEN = {"created_at", "updated_at", "external_id", "version"}


def plain(value: Any) -> Any:
    """Records and details as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # The full name goes first: masking meets it before the first or last name alone, so a person's
        # placeholder stands for their whole name when it is put back.
        data = {"full_name": value.full_name} if hasattr(value, "full_name") else {}
        data.update({f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name not in _HIDDEN})
        return data
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return json_value(value)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SearchArgs(_Args):
    text: str = Field(min_length=1, max_length=200)
    limit: int = Field(10, ge=1, le=50)


class ContactId(_Args):
    contact_id: int = Field(ge=1)


class CompanyId(_Args):
    company_id: int = Field(ge=1)


class DealId(_Args):
    deal_id: int = Field(ge=1)


class ListDealsArgs(_Args):
    stages: list[Literal[DEAL_STAGES]] | None = None  # type: ignore[valid-type]
    owner: str | None = Field(None, description="Slack user id")
    company_id: int | None = Field(None, ge=1)
    closing_within_days: int | None = Field(None, ge=0, le=366)
    stale_days: int | None = Field(None, ge=1, le=3650, description="no activity for this many days")
    open_only: bool = True
    limit: int = Field(20, ge=1, le=100)


class ListActivitiesArgs(_Args):
    company_id: int | None = Field(None, ge=1)
    contact_id: int | None = Field(None, ge=1)
    deal_id: int | None = Field(None, ge=1)
    kinds: list[Literal[ACTIVITY_KINDS]] | None = None  # type: ignore[valid-type]
    since_days: int | None = Field(None, ge=1, le=3650)
    limit: int = Field(20, ge=1, le=100)


class ListTicketsArgs(_Args):
    company_id: int | None = Field(None, ge=1)
    statuses: list[Literal[TICKET_STATUSES]] | None = None  # type: ignore[valid-type]
    priorities: list[Literal[TICKET_PRIORITIES]] | None = None  # type: ignore[valid-type]
    sla_breached: bool = False
    limit: int = Field(20, ge=1, le=100)


class SearchKbArgs(_Args):
    query: str = Field(min_length=1, max_length=300)
    limit: int = Field(5, ge=1, le=20)


def named(value: Any, *records: Any) -> ToolOutput:
    """A result citing the companies, contacts, deals and search hits in it by "kind:id", with their names,
    so the answer's sources can list the ones it names."""
    names: dict[str, str] = {}
    for record in records:
        if isinstance(record, SearchHit):
            names[f"{record.kind}:{record.id}"] = record.title
        elif isinstance(record, Company | Deal):
            names[f"{'company' if isinstance(record, Company) else 'deal'}:{record.id}"] = record.name
        elif isinstance(record, Contact):
            names[f"contact:{record.id}"] = record.full_name
    return ToolOutput(plain(value), tuple(names), names)


def read_tools(kb: KnowledgeBase, *, clock: Callable[[], datetime]) -> list[Tool]:
    """Every read tool over one knowledge base; CRM tools read through the CRM view each run hands
    them (the records the asker may see), never through a CRM of their own."""

    def search_contacts(a: SearchArgs, crm: CrmAdapter) -> ToolOutput:
        hits = crm.search_contacts(a.text, limit=a.limit)
        return named(hits, *hits)

    def search_companies(a: SearchArgs, crm: CrmAdapter) -> ToolOutput:
        hits = crm.search_companies(a.text, limit=a.limit)
        return named(hits, *hits)

    def get_contact(a: ContactId, crm: CrmAdapter) -> ToolOutput:
        d = crm.get_contact(a.contact_id)
        return named(d, d.contact, d.company, *d.open_deals) if d else _missing("contact", a.contact_id)

    def get_company(a: CompanyId, crm: CrmAdapter) -> ToolOutput:
        d = crm.get_company(a.company_id)
        return named(d, d.company, *d.contacts, *d.open_deals) if d else _missing("company", a.company_id)

    def get_deal(a: DealId, crm: CrmAdapter) -> ToolOutput:
        d = crm.get_deal(a.deal_id)
        return named(d, d.deal, d.company, d.contact) if d else _missing("deal", a.deal_id)

    def list_deals(a: ListDealsArgs, crm: CrmAdapter) -> ToolOutput:
        now = clock()
        closing_to = now.date() + timedelta(days=a.closing_within_days) if a.closing_within_days is not None else None
        filters = DealFilter(
            stages=tuple(a.stages) if a.stages else None, owner=a.owner, company_id=a.company_id,
            closing_from=now.date() if closing_to else None, closing_to=closing_to,
            no_activity_since=now - timedelta(days=a.stale_days) if a.stale_days else None, open_only=a.open_only,
        )
        deals = crm.list_deals(filters, limit=a.limit)
        return named(deals, *deals)

    def list_activities(a: ListActivitiesArgs, crm: CrmAdapter) -> ToolOutput:
        filters = ActivityFilter(company_id=a.company_id, contact_id=a.contact_id, deal_id=a.deal_id,
                                 kinds=tuple(a.kinds) if a.kinds else None,
                                 since=clock() - timedelta(days=a.since_days) if a.since_days else None)
        return ToolOutput(plain(crm.list_activities(filters, limit=a.limit)))

    def list_tickets(a: ListTicketsArgs, crm: CrmAdapter) -> ToolOutput:
        filters = TicketFilter(statuses=tuple(a.statuses) if a.statuses else None,
                               priorities=tuple(a.priorities) if a.priorities else None, company_id=a.company_id,
                               sla_breached_at=clock() if a.sla_breached else None)
        return ToolOutput(plain(crm.list_tickets(filters, limit=a.limit)))

    def search_kb(a: SearchKbArgs, crm: CrmAdapter) -> ToolOutput:
        hits = kb.search(a.query, limit=a.limit)
        value = [{"title": h.title, "section": h.heading, "snippet": h.snippet, "cite": h.citation} for h in hits]
        names = {h.citation: f"{h.title} › {h.heading}" if h.heading and h.heading != h.title else h.title
                 for h in hits}
        return ToolOutput(value, tuple(names), names)

    def lead_score(a: ContactId, crm: CrmAdapter) -> ToolOutput:
        score = scoring.lead_score(crm, a.contact_id, now=clock()).to_dict()
        return _scored(score, "contact", a.contact_id, crm.get("contact", a.contact_id))

    def churn_risk(a: CompanyId, crm: CrmAdapter) -> ToolOutput:
        score = scoring.churn_risk(crm, a.company_id, now=clock()).to_dict()
        return _scored(score, "company", a.company_id, crm.get("company", a.company_id))

    def tool(name: str, description: str, args: type[BaseModel], run: Callable[[Any, CrmAdapter], ToolOutput]) -> Tool:
        return Tool(name, description, args, "read", "low", run=run)

    return [
        tool("search_contacts", "Find contacts by name, e-mail, phone, title or company.", SearchArgs, search_contacts),
        tool("get_contact", "A contact with company, open deals, recent activities, open tickets.", ContactId,
             get_contact),
        tool("search_companies", "Find companies by name, domain or industry.", SearchArgs, search_companies),
        tool("get_company", "A company with contacts, open deals, recent activities, open tickets.", CompanyId,
             get_company),
        tool("list_deals", "Deals filtered by stage, owner, company, closing window or staleness.", ListDealsArgs,
             list_deals),
        tool("get_deal", "A deal with its company, contact and recent activities.", DealId, get_deal),
        tool("list_activities", "Activities (notes, calls, meetings, e-mails, tasks), newest first.",
             ListActivitiesArgs, list_activities),
        tool("list_tickets", "Support tickets by company, status, priority or SLA breach.", ListTicketsArgs,
             list_tickets),
        tool("search_kb", "Search the knowledge base (policies, pricing, how-tos); cite the 'cite' values.",
             SearchKbArgs, search_kb),
        tool("lead_score", "Explainable 0-100 lead score of a contact, with factors.", ContactId, lead_score),
        tool("churn_risk", "Explainable 0-100 churn risk of a company, with factors.", CompanyId, churn_risk),
    ]


def _scored(score: Any, kind: str, record_id: int, record: Any) -> ToolOutput:
    """A score cites its record, by name when the reader may see it."""
    output = named(None, record)
    return ToolOutput(score, output.citations or (f"{kind}:{record_id}",), output.names)


def _missing(kind: str, record_id: int) -> ToolOutput:
    # The same words for a record that does not exist and one the asker may not see: no existence leak.
    return ToolOutput({"error": f"{kind} {record_id} was not found or is not visible to you"})
