"""HubSpotCrm: the CrmAdapter on a HubSpot account.

Guarantees: get-with-related costs one request for the record with its association ids and then
one batch read per related object type present, the activities of every kind counting as one type
(read through the v1 Engagements API while the record has at most 100): a deal with its company
and contact costs 3, 4 with activities; a contact or company with every kind of related record 5.
HubSpot reads one object type per request, so fewer is not possible through its REST API. Lists
are search requests (plus one association batch per related type their records need; lists for
several records at once are in many.py); free-text search ranks name matches first, as the local
CRM does; writes are in writes.py, the masking directory and the owners in directory.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from adapters.crm.base import (
    DEAL_STAGES,
    LOOKUP_FIELDS,
    OPEN_DEAL_STAGES,
    OPEN_TICKET_STATUSES,
    Activity,
    ActivityFilter,
    CompanyDetail,
    Contact,
    ContactDetail,
    ContactFilter,
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
from adapters.crm.hubspot import directory, filters, many
from adapters.crm.hubspot.calls import ENGAGEMENT_PAGE, Calls, flt
from adapters.crm.hubspot.client import Limits, Transport, build_apis
from adapters.crm.hubspot.mapping import (
    ACTIVITY_TYPES,
    EXTERNAL_ID,
    OBJECT_TYPES,
    READ_PROPERTIES,
    SLA_PROPERTY,
    HsObject,
    Stages,
    split_activity_id,
    to_millis,
    to_record,
)
from adapters.crm.hubspot.writes import Writes
from adapters.fulltext import fold, words

DEFAULT_DEAL_STAGES = {"appointmentscheduled": "lead", "qualifiedtobuy": "qualified",
                       "presentationscheduled": "proposal", "decisionmakerboughtin": "negotiation",
                       "contractsent": "negotiation", "closedwon": "closed_won", "closedlost": "closed_lost"}
DEFAULT_TICKET_STAGES = {"1": "open", "2": "pending", "3": "open", "4": "closed"}
RECENT_ACTIVITIES = 10
MAX_LIMIT = 500
_LOOKUP_PROPERTY = {"external_id": EXTERNAL_ID, "domain": "domain", "name": None, "email": "email"}


class HubSpotCrm:
    """CRM on HubSpot; every method is a few blocking HTTP requests (run it in a thread)."""

    def __init__(self, transport: Transport, stages: Stages, *, portal_id: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.calls = Calls(transport)
        self.stages = stages
        self.portal_id = portal_id
        self._writes = Writes(self.calls, stages)
        self._directory = directory.Directory(self.calls, clock=clock)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hubspot")  # related reads at once
        self._many = many.ManyLists(self.calls, stages, self._search_list, self._pool)

    @classmethod
    def connect(cls, access_token: str, base_url: str | None = None, *, limits: Limits = Limits(),
                stages: Stages | None = None, portal_id: int | None = None,
                clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> HubSpotCrm:
        """The adapter on the SDK, pointed at base_url (default https://api.hubapi.com)."""
        stages = stages or Stages(deal=DEFAULT_DEAL_STAGES, ticket=DEFAULT_TICKET_STAGES)
        transport = Transport(build_apis(access_token, base_url), limits, clock=clock, sleep=sleep)
        return cls(transport, stages, portal_id=portal_id, clock=clock)

    # -- search -------------------------------------------------------------------------------

    def search_contacts(self, text: str, *, limit: int = 20) -> list[SearchHit]:
        objects = self._query("contacts", text, limit)
        company_ids = [_int(o.properties.get("associatedcompanyid")) for o in objects]
        wanted = [c for c in company_ids if c]
        companies = {o.id: o for o in self.calls.batch_read("companies", wanted, ["name"])} if wanted else {}
        hits = []
        for o in objects:
            p = o.properties
            name = f"{p.get('firstname') or ''} {p.get('lastname') or ''}".strip()
            company = companies.get(_int(p.get("associatedcompanyid")) or 0)
            extra = (p.get("jobtitle"), company.properties.get("name") if company else None, p.get("email"), p.get("phone"))
            hits.append(SearchHit("contact", o.id, name, " · ".join(x for x in extra if x),
                                  _score(text, name, p.get("crm_copilot_aliases") or "")))
        return _ranked(hits, limit)

    def search_companies(self, text: str, *, limit: int = 20) -> list[SearchHit]:
        hits = []
        for o in self._query("companies", text, limit):
            p = o.properties
            subtitle = " · ".join(x for x in (p.get("domain"), p.get("industry"), p.get("country")) if x)
            hits.append(SearchHit("company", o.id, p.get("name") or "", subtitle, _score(text, p.get("name") or "")))
        return _ranked(hits, limit)

    def _query(self, object_type: str, text: str, limit: int) -> list[HsObject]:
        if not text.strip():
            return []
        # HubSpot ranks by its own relevance; a wider page lets name matches be put first here.
        objects, _total, _next = self.calls.search(object_type, [], READ_PROPERTIES[object_type],
                                                   limit=min(200, max(_clamp(limit) * 2, 20)), query=text.strip())
        return objects

    def directory(self) -> Iterator[DirectoryEntry]:
        return self._directory.entries()

    def owners(self) -> list[Owner]:
        return self._directory.owners()

    def record_url(self, kind: RecordKind, record_id: int) -> str | None:
        if self.portal_id is None:
            return None
        if kind == "activity":
            return None  # engagements have no page of their own; they show on their records
        type_id = {"contact": "0-1", "company": "0-2", "deal": "0-3", "ticket": "0-5"}[kind]
        return f"https://app.hubspot.com/contacts/{self.portal_id}/record/{type_id}/{record_id}"

    # -- get with related ---------------------------------------------------------------------

    def get(self, kind: RecordKind, record_id: int) -> Record | None:
        object_type, hs_id = self._locate(kind, record_id)
        if object_type is None:
            return None
        related = ("companies", "contacts") if kind in ("deal", "ticket") else ()
        if kind == "activity":
            related = ("companies", "contacts", "deals")
        obj = self.calls.get(object_type, hs_id, READ_PROPERTIES[object_type], related)
        return to_record(kind, obj, self.stages) if obj else None

    def find(self, kind: RecordKind, field: str, value: str, *, company_id: int | None = None) -> Record | None:
        if field not in LOOKUP_FIELDS.get(kind, ()):
            raise ValueError(f"cannot look up a {kind} by {field}")
        if company_id is not None and kind == "company":
            raise ValueError("company_id narrows contacts and deals, not companies")
        object_type = OBJECT_TYPES[kind]
        prop = _LOOKUP_PROPERTY[field] or ("dealname" if kind == "deal" else "name")
        group = [flt(prop, "EQ", value.strip())]
        if company_id is not None:
            group.append(flt("associations.company", "EQ", company_id))
        objects, _total, _next = self.calls.search(object_type, [group], READ_PROPERTIES[object_type], limit=1,
                                                   sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}])
        if not objects:
            return None
        return self.get(kind, objects[0].id) if kind == "deal" else to_record(kind, objects[0], self.stages)

    def get_contact(self, contact_id: int) -> ContactDetail | None:
        types = ("companies", "deals", "tickets", *ACTIVITY_TYPES.values())
        obj = self.calls.get("contacts", contact_id, READ_PROPERTIES["contacts"], types)
        if obj is None:
            return None
        contact: Contact = to_record("contact", obj, self.stages)  # type: ignore[assignment]
        read = self._read_related(obj, ("companies", "deals", "tickets"))
        # Deals and tickets of the contact: their company is taken to be the contact's.
        company_id = contact.company_id
        rel = self._records(read, ("companies", "deals", "tickets"),
                            {"contacts": contact_id, **({"companies": company_id} if company_id else {})})
        company = next((c for c in rel["companies"] if c.id == contact.company_id), None)
        return ContactDetail(contact=contact, company=company,  # type: ignore[arg-type]
                             open_deals=_open_deals(rel["deals"]), recent_activities=self._activities(obj, read),
                             open_tickets=_open_tickets(rel["tickets"]))

    def get_company(self, company_id: int) -> CompanyDetail | None:
        types = ("contacts", "deals", "tickets", *ACTIVITY_TYPES.values())
        obj = self.calls.get("companies", company_id, READ_PROPERTIES["companies"], types)
        if obj is None:
            return None
        read = self._read_related(obj, ("contacts", "deals", "tickets"), contacts_limit=50)
        rel = self._records(read, ("contacts", "deals", "tickets"), {"companies": company_id})
        return CompanyDetail(company=to_record("company", obj, self.stages),  # type: ignore[arg-type]
                             contacts=tuple(sorted(rel["contacts"], key=lambda c: c.id)),  # type: ignore[arg-type]
                             open_deals=_open_deals(rel["deals"]), recent_activities=self._activities(obj, read),
                             open_tickets=_open_tickets(rel["tickets"]))

    def get_deal(self, deal_id: int) -> DealDetail | None:
        types = ("companies", "contacts", *ACTIVITY_TYPES.values())
        obj = self.calls.get("deals", deal_id, READ_PROPERTIES["deals"], types)
        if obj is None:
            return None
        deal: Deal = to_record("deal", obj, self.stages)  # type: ignore[assignment]
        read = self._read_related(obj, ("companies", "contacts"))
        rel = self._records(read, ("companies", "contacts"), {})
        company = next((c for c in rel["companies"] if c.id == deal.company_id), None)
        contact = next((c for c in rel["contacts"] if c.id == deal.contact_id), None)
        return DealDetail(deal=deal, company=company, contact=contact,  # type: ignore[arg-type]
                          recent_activities=self._activities(obj, read))

    def _read_related(self, obj: HsObject, types: tuple[str, ...], *,
                      contacts_limit: int | None = None) -> dict[str, list[HsObject]]:
        """One batch read per related type present, and the activities of every kind in one request
        of the v1 Engagements API, all at once: the wait is about one round trip."""
        wanted: dict[str, list[int]] = {}
        for object_type in types:
            ids = list(obj.associations.get(object_type, ()))
            wanted[object_type] = sorted(ids)[:contacts_limit] if contacts_limit and object_type == "contacts" else ids
        engagement_ids = {t: obj.associations.get(t, ()) for t in ACTIVITY_TYPES.values()}
        total = sum(len(ids) for ids in engagement_ids.values())
        futures = {t: self._pool.submit(self.calls.batch_read, t, ids, READ_PROPERTIES[t])
                   for t, ids in wanted.items() if ids}
        one_page = 0 < total <= ENGAGEMENT_PAGE
        engagements = self._pool.submit(self.calls.engagements, obj.type, obj.id) if one_page else None
        read = {t: futures[t].result() if t in futures else [] for t in wanted}
        if engagements is not None:
            found, more = engagements.result()
            if not more:
                for t in ACTIVITY_TYPES.values():
                    read[t] = [o for o in found if o.type == t]
                return read
        # More than one page: the newest ids of each kind (ids grow with time), one batch read per kind.
        later = {t: self._pool.submit(self.calls.batch_read, t, sorted(ids, reverse=True)[:RECENT_ACTIVITIES * 3],
                                      READ_PROPERTIES[t]) for t, ids in engagement_ids.items() if ids}
        read.update({t: f.result() for t, f in later.items()})
        return read

    def _records(self, read: dict[str, list[HsObject]], types: tuple[str, ...],
                 known: dict[str, int]) -> dict[str, list[Record]]:
        """Records of the related objects; a deal's or ticket's company and contact are taken from
        `known` (the record they were reached from), which saves an association request each."""
        return {t: [to_record(_kind(t), o, self.stages, related=known if _kind(t) in ("deal", "ticket") else None)
                    for o in read.get(t, ())] for t in types}

    def _activities(self, obj: HsObject, read: dict[str, list[HsObject]]) -> tuple[Activity, ...]:
        activities = [to_record("activity", o, self.stages, related={obj.type: obj.id})
                      for t in ACTIVITY_TYPES.values() for o in read.get(t, ())]
        activities.sort(key=lambda a: (a.occurred_at, a.id), reverse=True)  # type: ignore[union-attr]
        return tuple(activities[:RECENT_ACTIVITIES])  # type: ignore[arg-type]

    # -- lists --------------------------------------------------------------------------------

    def list_deals(self, filters_: DealFilter, *, limit: int = 50) -> list[Deal]:
        if filters_.company_ids is not None:
            return self._many.deals(filters_, _clamp(limit))  # type: ignore[return-value]
        try:
            groups = filters.deal_groups(filters_, self.stages)
        except filters.NothingMatches:
            return []
        objects = self._search_list("deals", groups, "closedate", "ASCENDING", _clamp(limit))
        # ISO 8601 times in one format sort as text; deals without a close date go last.
        objects.sort(key=lambda o: (not o.properties.get("closedate"), o.properties.get("closedate") or "", o.id))
        return self._with_links("deal", objects, ("companies", "contacts"), filters_.company_id)  # type: ignore[return-value]

    def count_deals(self, filters_: DealFilter) -> int:
        if filters_.company_ids is not None:
            return len(self._many.deal_objects(filters_, ("hs_object_id",)))
        try:
            return self.calls.count("deals", filters.deal_groups(filters_, self.stages))
        except filters.NothingMatches:
            return 0

    def deal_totals(self, filters_: DealFilter) -> list[StageTotal]:
        try:
            groups = filters.deal_groups(replace(filters_, company_ids=None), self.stages)
        except filters.NothingMatches:
            return []
        sums: dict[tuple[str, str], tuple[int, Decimal]] = {}
        props = ("dealstage", "amount", "deal_currency_code")
        found = (self._many.deal_objects(filters_, props) if filters_.company_ids is not None
                 else self.calls.search_all("deals", groups, props))
        for o in found:
            deal = to_record("deal", o, self.stages)
            key = (deal.stage, deal.currency)  # type: ignore[union-attr]
            n, amount = sums.get(key, (0, Decimal(0)))
            sums[key] = (n + 1, amount + deal.amount)  # type: ignore[union-attr]
        order = {stage: i for i, stage in enumerate(DEAL_STAGES)}
        totals = [StageTotal(stage, currency, n, amount) for (stage, currency), (n, amount) in sums.items()]
        return sorted(totals, key=lambda t: (order.get(t.stage, len(order)), t.currency))

    def list_contacts(self, filters_: ContactFilter, *, limit: int = 50) -> list[Contact]:
        try:
            groups = filters.contact_groups(filters_)
        except filters.NothingMatches:
            return []
        objects = self._search_list("contacts", groups, "createdate", "DESCENDING", _clamp(limit))
        objects.sort(key=lambda o: (o.created_at, o.id), reverse=True)
        return [to_record("contact", o, self.stages) for o in objects]  # type: ignore[misc]

    def list_tickets(self, filters_: TicketFilter, *, limit: int = 50) -> list[Ticket]:
        if filters_.company_ids is not None:
            return self._many.tickets(filters_, _clamp(limit))  # type: ignore[return-value]
        try:
            groups = filters.ticket_groups(filters_, self.stages)
        except filters.NothingMatches:
            return []
        objects = self._search_list("tickets", groups, SLA_PROPERTY, "ASCENDING", _clamp(limit))
        return self._with_links("ticket", objects, ("companies", "contacts"), filters_.company_id)  # type: ignore[return-value]

    def list_activities(self, filters_: ActivityFilter, *, limit: int = 50) -> list[Activity]:
        if filters_.company_ids is not None or filters_.contact_ids is not None:
            return self._many.activities(filters_, _clamp(limit))  # type: ignore[return-value]
        kinds = filters_.kinds or tuple(ACTIVITY_TYPES)
        base = []
        known: dict[str, int] = {}
        for prop, value, name in (("associations.company", filters_.company_id, "companies"),
                                  ("associations.contact", filters_.contact_id, "contacts"),
                                  ("associations.deal", filters_.deal_id, "deals")):
            if value:
                base.append(flt(prop, "EQ", value))
                known[name] = value
        if filters_.since:
            base.append(flt("hs_timestamp", "GTE", to_millis(filters_.since)))
        found: list[Activity] = []
        for kind in kinds:
            object_type = ACTIVITY_TYPES[kind]
            objects = self._search_list(object_type, [base], "hs_timestamp", "DESCENDING", _clamp(limit))
            found += [to_record("activity", o, self.stages, related=known) for o in objects]  # type: ignore[misc]
        found.sort(key=lambda a: (a.occurred_at, a.id), reverse=True)
        return found[:_clamp(limit)]

    def _search_list(self, object_type: str, groups: list[list[Any]], sort: str, direction: str,
                     limit: int) -> list[HsObject]:
        found: list[HsObject] = []
        after: int | None = 0
        while after is not None and len(found) < limit:
            objects, _total, after = self.calls.search(
                object_type, groups, READ_PROPERTIES[object_type], limit=min(200, limit - len(found)), after=after,
                sorts=[{"propertyName": sort, "direction": direction}])
            found += objects
        return found[:limit]

    def _with_links(self, kind: RecordKind, objects: list[HsObject], types: tuple[str, ...],
                    company_id: int | None = None) -> list[Record]:
        """Records with their company and contact ids: one association batch per related type,
        none for the company when the filter named it."""
        if not objects:
            return []
        asked = tuple(t for t in types if not (t == "companies" and company_id))
        futures = {t: self._pool.submit(self.calls.associated, OBJECT_TYPES[kind], t, [o.id for o in objects])
                   for t in asked}
        links = {t: f.result() for t, f in futures.items()}
        known = {"companies": company_id} if company_id else {}
        return [to_record(kind, o, self.stages,
                          related={**known, **{t: ids[0] for t in asked if (ids := links[t].get(o.id))}})
                for o in objects]

    # -- writes -------------------------------------------------------------------------------

    def create(self, kind: RecordKind, fields: Mapping[str, Any], *, idempotency_key: str) -> WriteResult:
        return self._writes.create(kind, fields, idempotency_key=idempotency_key)

    def update(self, kind: RecordKind, record_id: int, changes: Mapping[str, Any], *, expected_version: int,
               idempotency_key: str, basis: Mapping[str, Any] | None = None) -> WriteResult:
        return self._writes.update(kind, record_id, changes, expected_version=expected_version,
                                   idempotency_key=idempotency_key, basis=basis)

    def _locate(self, kind: RecordKind, record_id: int) -> tuple[str | None, int]:
        if kind == "activity":
            where = split_activity_id(record_id)
            return (where[0], where[1]) if where else (None, 0)
        return OBJECT_TYPES[kind], record_id


def _kind(object_type: str) -> RecordKind:
    return next(k for k, t in OBJECT_TYPES.items() if t == object_type)  # type: ignore[return-value]


def _open_deals(deals: list[Record]) -> tuple[Deal, ...]:
    chosen = [d for d in deals if d.stage in OPEN_DEAL_STAGES]  # type: ignore[union-attr]
    return tuple(sorted(chosen, key=lambda d: (d.close_date is None, d.close_date, d.id)))  # type: ignore[union-attr,misc]


def _open_tickets(tickets: list[Record]) -> tuple[Ticket, ...]:
    return tuple(sorted((t for t in tickets if t.status in OPEN_TICKET_STATUSES), key=lambda t: t.id))  # type: ignore[union-attr,misc]


def _score(query: str, name: str, aliases: str = "") -> float:
    """Name matches weigh ten times what other matches weigh, as in the local CRM's index."""
    terms = words(query)
    names = set(fold(f"{name} {aliases}").replace(";", " ").split())
    in_name = sum(1 for t in terms if any(n.startswith(t) for n in names))
    return 10.0 * in_name + (len(terms) - in_name)


def _ranked(hits: list[SearchHit], limit: int) -> list[SearchHit]:
    return sorted(hits, key=lambda h: -h.score)[:_clamp(limit)]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _clamp(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))
