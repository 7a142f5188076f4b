"""A CRM view limited to one scope: what a person may read through the bot, and nothing else.

Every read is filtered before it returns, so a record outside the scope never reaches the
gateway, the model or a log: a `get` of such a record answers exactly as for a missing one.
A record's effective owner is its own owner, else its parent's (a deal's or contact's company, an
activity's deal or company, a ticket's company). The view also remembers the effective owners of
everything it returned, so an answer can be checked against everyone who would read it.
Directory and writes pass through: masking needs every name, and writes go through approvals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from adapters.crm.base import (
    Activity,
    ActivityFilter,
    Company,
    CompanyDetail,
    Contact,
    ContactDetail,
    ContactFilter,
    CrmAdapter,
    Deal,
    DealDetail,
    DealFilter,
    DirectoryEntry,
    Owner,
    Record,
    RecordKind,
    SearchHit,
    StageTotal,
    Ticket,
    TicketFilter,
    WriteResult,
)
from bot.access.scope import Scope

# Lists are filtered after reading; read this many times the limit so a filtered page is still full.
_OVERFETCH = 5
_MAX_READ = 500


class ScopedCrm:
    """CrmAdapter for one reader. `seen` holds the effective owners of every record returned."""

    def __init__(self, crm: CrmAdapter, scope: Scope) -> None:
        self._crm, self.scope = crm, scope
        self.seen: set[str | None] = set()
        self._company_owner: dict[int, str | None] = {}

    # -- visibility ---------------------------------------------------------------------------

    def owner_of(self, record: Record) -> str | None:
        """The record's effective owner (its own, else its parent's)."""
        if record.owner is not None or isinstance(record, Company):
            return record.owner
        if isinstance(record, Activity) and record.deal_id is not None:
            deal = self._crm.get("deal", record.deal_id)
            if deal is not None and deal.owner is not None:
                return deal.owner
        company_id = getattr(record, "company_id", None)
        return self._company_owner_of(company_id) if company_id is not None else None

    def visible(self, record: Record | None) -> bool:
        if record is None:
            return False
        return self.scope.unrestricted or self.scope.sees(self.owner_of(record))

    def _company_owner_of(self, company_id: int) -> str | None:
        if company_id not in self._company_owner:
            company = self._crm.get("company", company_id)
            self._company_owner[company_id] = company.owner if company is not None else None
        return self._company_owner[company_id]

    def _keep(self, record: Any) -> bool:
        if not self.visible(record):
            return False
        self.seen.add(self.owner_of(record))
        return True

    def _filter(self, records: list[Any], limit: int) -> list[Any]:
        return [r for r in records if self._keep(r)][:limit]

    def _read_limit(self, limit: int) -> int:
        return limit if self.scope.unrestricted else min(_MAX_READ, limit * _OVERFETCH)

    # -- reads ----------------------------------------------------------------------------------

    def _hits(self, kind: RecordKind, hits: list[SearchHit], limit: int) -> list[SearchHit]:
        kept = []
        for hit in hits:
            record = self._crm.get(kind, hit.id)
            if not self._keep(record):
                continue
            company_id = getattr(record, "company_id", None)
            if company_id is not None and not (self.scope.unrestricted
                                               or self.scope.sees(self._company_owner_of(company_id))):
                # The adapter's subtitle names the contact's company, which this reader may not see.
                own = (getattr(record, "title", None), getattr(record, "email", None), getattr(record, "phone", None))
                hit = dataclasses.replace(hit, subtitle=" · ".join(p for p in own if p))
            kept.append(hit)
        return kept[:limit]

    def search_contacts(self, text: str, *, limit: int = 20) -> list[SearchHit]:
        return self._hits("contact", self._crm.search_contacts(text, limit=self._read_limit(limit)), limit)

    def search_companies(self, text: str, *, limit: int = 20) -> list[SearchHit]:
        return self._hits("company", self._crm.search_companies(text, limit=self._read_limit(limit)), limit)

    def directory(self) -> Iterator[DirectoryEntry]:
        return self._crm.directory()

    def owners(self) -> list[Owner]:
        return self._crm.owners()

    def record_url(self, kind: RecordKind, record_id: int) -> str | None:
        return self._crm.record_url(kind, record_id)

    def get(self, kind: RecordKind, record_id: int) -> Record | None:
        record = self._crm.get(kind, record_id)
        return record if record is not None and self._keep(record) else None

    def find(self, kind: RecordKind, field: str, value: str, *, company_id: int | None = None) -> Record | None:
        record = self._crm.find(kind, field, value, company_id=company_id)
        return record if record is not None and self._keep(record) else None

    def get_contact(self, contact_id: int) -> ContactDetail | None:
        detail = self._crm.get_contact(contact_id)
        if detail is None or not self._keep(detail.contact):
            return None
        return dataclasses.replace(
            detail, company=detail.company if detail.company and self._keep(detail.company) else None,
            open_deals=self._all(detail.open_deals), recent_activities=self._all(detail.recent_activities),
            open_tickets=self._all(detail.open_tickets))

    def get_company(self, company_id: int) -> CompanyDetail | None:
        detail = self._crm.get_company(company_id)
        if detail is None or not self._keep(detail.company):
            return None
        return dataclasses.replace(
            detail, contacts=self._all(detail.contacts), open_deals=self._all(detail.open_deals),
            recent_activities=self._all(detail.recent_activities), open_tickets=self._all(detail.open_tickets))

    def get_deal(self, deal_id: int) -> DealDetail | None:
        detail = self._crm.get_deal(deal_id)
        if detail is None or not self._keep(detail.deal):
            return None
        return dataclasses.replace(
            detail, company=detail.company if detail.company and self._keep(detail.company) else None,
            contact=detail.contact if detail.contact and self._keep(detail.contact) else None,
            recent_activities=self._all(detail.recent_activities))

    def _all(self, records: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(r for r in records if self._keep(r))

    def _deal_filter(self, filters: DealFilter) -> DealFilter:
        """The filter narrowed to the scope's owners in the query itself (deals are the biggest list);
        deals without an owner are still checked against their company afterwards."""
        owners = self.scope.owners
        if owners is None:
            return filters
        if filters.owners is not None:
            owners = owners & set(filters.owners)
        return dataclasses.replace(filters, owners=tuple(sorted(owners)),
                                   unowned=self.scope.unowned and (filters.owners is None or filters.unowned))

    def list_deals(self, filters: DealFilter, *, limit: int = 50) -> list[Deal]:
        return self._filter(self._crm.list_deals(self._deal_filter(filters), limit=limit), limit)

    def count_deals(self, filters: DealFilter) -> int:
        if self.scope.unrestricted:
            return self._crm.count_deals(filters)
        return len(self.list_deals(filters, limit=_MAX_READ))

    def deal_totals(self, filters: DealFilter) -> list[StageTotal]:
        if self.scope.unrestricted:
            return self._crm.deal_totals(filters)
        totals: dict[tuple[str, str], StageTotal] = {}
        for deal in self.list_deals(filters, limit=_MAX_READ):
            key = (deal.stage, deal.currency)
            old = totals.get(key, StageTotal(deal.stage, deal.currency, 0, deal.amount * 0))
            totals[key] = StageTotal(deal.stage, deal.currency, old.count + 1, old.amount + deal.amount)
        return list(totals.values())

    def list_contacts(self, filters: ContactFilter, *, limit: int = 50) -> list[Contact]:
        return self._filter(self._crm.list_contacts(filters, limit=self._read_limit(limit)), limit)

    def list_activities(self, filters: ActivityFilter, *, limit: int = 50) -> list[Activity]:
        return self._filter(self._crm.list_activities(filters, limit=self._read_limit(limit)), limit)

    def list_tickets(self, filters: TicketFilter, *, limit: int = 50) -> list[Ticket]:
        return self._filter(self._crm.list_tickets(filters, limit=self._read_limit(limit)), limit)

    # -- writes (decided by the approval service, never by a reader) -----------------------------

    def create(self, kind: RecordKind, fields: Mapping[str, Any], *, idempotency_key: str) -> WriteResult:
        return self._crm.create(kind, fields, idempotency_key=idempotency_key)

    def update(self, kind: RecordKind, record_id: int, changes: Mapping[str, Any], *, expected_version: int,
               idempotency_key: str, basis: Mapping[str, Any] | None = None) -> WriteResult:
        return self._crm.update(kind, record_id, changes, expected_version=expected_version,
                                idempotency_key=idempotency_key, basis=basis)
