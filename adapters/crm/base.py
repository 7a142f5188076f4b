"""The CrmAdapter protocol and the typed records every CRM implementation returns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

RecordKind = Literal["company", "contact", "deal", "activity", "ticket"]
RECORD_KINDS: tuple[RecordKind, ...] = ("company", "contact", "deal", "activity", "ticket")

DEAL_STAGES = ("lead", "qualified", "proposal", "negotiation", "closed_won", "closed_lost")
OPEN_DEAL_STAGES = DEAL_STAGES[:4]
ACTIVITY_KINDS = ("note", "call", "meeting", "email", "task")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("open", "pending", "solved", "closed")
OPEN_TICKET_STATUSES = ("open", "pending")
LIFECYCLE_STAGES = ("lead", "prospect", "customer", "churned")
# Fields that identify a record well enough to look it up, strongest first (importers match rows to
# records by them, in this order, to avoid duplicates).
LOOKUP_FIELDS: dict[str, tuple[str, ...]] = {
    "company": ("external_id", "domain", "name"),
    "contact": ("external_id", "email"),
    "deal": ("external_id", "name"),
}


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    domain: str | None
    industry: str | None
    employees: int | None
    country: str | None
    phone: str | None
    owner: str | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class Contact:
    id: int
    company_id: int | None
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    title: str | None
    aliases: tuple[str, ...]
    lifecycle_stage: str
    lead_source: str | None
    owner: str | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Deal:
    id: int
    name: str
    company_id: int
    contact_id: int | None
    stage: str
    amount: Decimal
    currency: str
    close_date: date | None
    owner: str | None
    stage_changed_at: datetime
    last_activity_at: datetime | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_DEAL_STAGES


@dataclass(frozen=True)
class Activity:
    id: int
    kind: str
    subject: str
    body: str
    company_id: int | None
    contact_id: int | None
    deal_id: int | None
    owner: str | None
    occurred_at: datetime
    due_at: datetime | None
    done: bool
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class Ticket:
    id: int
    subject: str
    body: str
    company_id: int
    contact_id: int | None
    priority: str
    status: str
    sla_due_at: datetime | None
    owner: str | None
    created_at: datetime
    updated_at: datetime
    version: int


Record = Company | Contact | Deal | Activity | Ticket


@dataclass(frozen=True)
class Owner:
    """A CRM user who owns records; the `owner` field of a record holds its id. People are matched
    to owners by e-mail."""

    id: str
    name: str
    email: str | None = None
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchHit:
    """A ranked free-text match; score is higher for better matches."""

    kind: RecordKind
    id: int
    title: str
    subtitle: str
    score: float


@dataclass(frozen=True)
class Owner:
    """A CRM user who owns records; `email` is how a Slack user is matched to it."""

    id: str
    name: str
    email: str | None = None
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class DirectoryEntry:
    """Identifying values of one contact or company: what must be recognised as personal data."""

    kind: Literal["contact", "company"]
    id: int
    names: tuple[str, ...]
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactDetail:
    contact: Contact
    company: Company | None
    open_deals: tuple[Deal, ...] = ()
    recent_activities: tuple[Activity, ...] = ()
    open_tickets: tuple[Ticket, ...] = ()


@dataclass(frozen=True)
class CompanyDetail:
    company: Company
    contacts: tuple[Contact, ...] = ()
    open_deals: tuple[Deal, ...] = ()
    recent_activities: tuple[Activity, ...] = ()
    open_tickets: tuple[Ticket, ...] = ()


@dataclass(frozen=True)
class DealDetail:
    deal: Deal
    company: Company | None
    contact: Contact | None
    recent_activities: tuple[Activity, ...] = ()


@dataclass(frozen=True)
class DealFilter:
    """Filters for list_deals; None means no filter on that attribute."""

    stages: tuple[str, ...] | None = None
    owner: str | None = None
    company_id: int | None = None
    closing_from: date | None = None
    closing_to: date | None = None
    no_activity_since: datetime | None = None
    open_only: bool = False
    owners: tuple[str, ...] | None = None  # any of these owners (a team); combines with owner
    created_since: datetime | None = None
    stage_changed_since: datetime | None = None
    unowned: bool = False  # with owners: deals without an owner match too
    # Any of these companies (several records' lists in one read); a deal linked to several of them
    # is listed once per company it matches, carrying that company's id. () matches nothing.
    company_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ContactFilter:
    lifecycle_stages: tuple[str, ...] | None = None
    owners: tuple[str, ...] | None = None
    created_since: datetime | None = None


@dataclass(frozen=True)
class StageTotal:
    """How many deals of the filter are at one stage in one currency, and their summed amount."""

    stage: str
    currency: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class TicketFilter:
    statuses: tuple[str, ...] | None = None
    priorities: tuple[str, ...] | None = None
    company_id: int | None = None
    sla_breached_at: datetime | None = None
    company_ids: tuple[int, ...] | None = None  # as DealFilter.company_ids


@dataclass(frozen=True)
class ActivityFilter:
    company_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    kinds: tuple[str, ...] | None = None
    since: datetime | None = None
    # Any of these companies or contacts, as DealFilter.company_ids: an activity linked to several
    # of them is listed once per id it matches, carrying that id.
    company_ids: tuple[int, ...] | None = None
    contact_ids: tuple[int, ...] | None = None


class CrmError(Exception):
    """Base class of the errors a CRM adapter raises on purpose."""


class NotFoundError(CrmError):
    def __init__(self, kind: RecordKind, record_id: int) -> None:
        super().__init__(f"{kind} {record_id} does not exist")
        self.kind = kind
        self.record_id = record_id


class ValidationFailed(CrmError):
    """The fields given for a create or update are not acceptable; message says which."""


class CrmUnavailable(CrmError):
    """The CRM cannot be reached or refused the bot's credentials; the operator's log says why."""

    def __init__(self, message: str = "the CRM is not reachable") -> None:
        super().__init__(message)


class ConflictError(CrmError):
    """The record changed since the expected version (or, for a write given its basis, one of the
    fields it depends on changed: `fields` names them); carries the current record."""

    def __init__(self, current: Record, expected_version: int, fields: tuple[str, ...] = ()) -> None:
        kind = type(current).__name__.lower()
        if fields:
            message = f"{kind} {current.id}: {', '.join(fields)} changed since the write was planned"
        else:
            message = f"{kind} {current.id} is at version {current.version}, not {expected_version}"
        super().__init__(message)
        self.current = current
        self.expected_version = expected_version
        self.fields = fields


@dataclass(frozen=True)
class WriteResult:
    """What a write returns; replayed is True when an earlier write with the same key answered."""

    record: Record
    created: bool
    replayed: bool = False
    changed_fields: tuple[str, ...] = field(default=())


class CrmAdapter(Protocol):
    """Reads and versioned, idempotent writes on a CRM."""

    def search_contacts(self, text: str, *, limit: int = 20) -> list[SearchHit]: ...

    def directory(self) -> Iterator[DirectoryEntry]:
        """Every contact's names, e-mail and phone and every company's name and phone."""
        ...

    def search_companies(self, text: str, *, limit: int = 20) -> list[SearchHit]: ...

    def owners(self) -> list[Owner]:
        """Every CRM user who may own records, with their e-mail (how Slack users are mapped to them)."""
        ...

    def record_url(self, kind: RecordKind, record_id: int) -> str | None:
        """The record's page in the CRM's own interface, when there is one."""
        ...

    def get(self, kind: RecordKind, record_id: int) -> Record | None: ...

    def find(
        self, kind: RecordKind, field: str, value: str, *, company_id: int | None = None
    ) -> Record | None:
        """The oldest record whose `field` equals value (case-insensitive), optionally within one
        company; only for the fields in LOOKUP_FIELDS."""
        ...

    def get_contact(self, contact_id: int) -> ContactDetail | None: ...

    def get_company(self, company_id: int) -> CompanyDetail | None: ...

    def get_deal(self, deal_id: int) -> DealDetail | None: ...

    def list_deals(self, filters: DealFilter, *, limit: int = 50) -> list[Deal]: ...

    def count_deals(self, filters: DealFilter) -> int:
        """How many deals list_deals would return without a limit."""
        ...

    def deal_totals(self, filters: DealFilter) -> list[StageTotal]:
        """Deals of the filter grouped by stage and currency, in stage order."""
        ...

    def list_contacts(self, filters: ContactFilter, *, limit: int = 50) -> list[Contact]:
        """Contacts of the filter, newest first."""
        ...

    def list_activities(self, filters: ActivityFilter, *, limit: int = 50) -> list[Activity]: ...

    def list_tickets(self, filters: TicketFilter, *, limit: int = 50) -> list[Ticket]: ...

    def create(
        self, kind: RecordKind, fields: Mapping[str, Any], *, idempotency_key: str
    ) -> WriteResult: ...

    def update(
        self,
        kind: RecordKind,
        record_id: int,
        changes: Mapping[str, Any],
        *,
        expected_version: int,
        idempotency_key: str,
        basis: Mapping[str, Any] | None = None,
    ) -> WriteResult:
        """Set only `changes`. Without basis, refused (ConflictError) when the record is no longer at
        expected_version. With basis (field -> value the write was planned on), refused only when one
        of those fields no longer holds its value: other changes since do not block it, and it
        writes against the record as it is now."""
        ...
