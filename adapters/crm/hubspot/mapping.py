"""HubSpot objects <-> the frozen records of adapters/crm/base.py.

Guarantees: every HubSpot value is a string and is parsed here, nowhere else; a record's version is
its `updatedAt` in epoch milliseconds (it moves on every change); stages, statuses, priorities and
lifecycle stages are translated both ways through the configured maps, and a bot value with no
HubSpot counterpart is refused (ValidationFailed) instead of written as something else.

Activities are five HubSpot object types (notes, calls, meetings, emails, tasks) whose ids share
one sequence; a record id carries the type in its last digit (`id * 10 + n`), so `get("activity",
id)` needs one request, not five.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.crm.base import (
    Activity,
    Company,
    Contact,
    Deal,
    Record,
    RecordKind,
    Ticket,
    ValidationFailed,
)

KEY_PROPERTY = "crm_copilot_key"  # unique: the idempotency key of the create that made the record
LAST_WRITE_PROPERTY = "crm_copilot_last_write"  # the idempotency key of the latest update
EXTERNAL_ID = "crm_copilot_external_id"
ALIASES = "crm_copilot_aliases"  # "; "-separated
LEAD_SOURCE = "crm_copilot_lead_source"
# A ticket's SLA due time: HubSpot's "time to close" SLA, calculated (read-only) from the account's
# SLA policies; empty where no policy applies (or the account has no SLAs), so such a ticket is never late.
SLA_PROPERTY = "hs_time_to_close_sla_due_date"
ACTIVITY_TYPES = {"note": "notes", "call": "calls", "meeting": "meetings", "email": "emails", "task": "tasks"}
_ACTIVITY_DIGIT = {kind: i for i, kind in enumerate(ACTIVITY_TYPES, start=1)}
OBJECT_TYPES: dict[str, str] = {"company": "companies", "contact": "contacts", "deal": "deals", "ticket": "tickets"}

# The custom properties `python -m bot hubspot setup` creates, per object type.
CUSTOM_PROPERTIES: dict[str, tuple[str, ...]] = {
    "companies": (KEY_PROPERTY, LAST_WRITE_PROPERTY, EXTERNAL_ID),
    "contacts": (KEY_PROPERTY, LAST_WRITE_PROPERTY, EXTERNAL_ID, ALIASES, LEAD_SOURCE),
    "deals": (KEY_PROPERTY, LAST_WRITE_PROPERTY, EXTERNAL_ID),
    "tickets": (KEY_PROPERTY, LAST_WRITE_PROPERTY),
    **{t: (KEY_PROPERTY, LAST_WRITE_PROPERTY) for t in ACTIVITY_TYPES.values()},
}

# bot field -> HubSpot property, for the fields that are plain properties.
_PLAIN: dict[str, dict[str, str]] = {
    "companies": {"name": "name", "domain": "domain", "industry": "industry", "employees": "numberofemployees",
                  "country": "country", "phone": "phone", "owner": "hubspot_owner_id", "external_id": EXTERNAL_ID},
    "contacts": {"first_name": "firstname", "last_name": "lastname", "email": "email", "phone": "phone",
                 "title": "jobtitle", "lead_source": LEAD_SOURCE, "owner": "hubspot_owner_id",
                 "external_id": EXTERNAL_ID},
    "deals": {"name": "dealname", "amount": "amount", "currency": "deal_currency_code", "owner": "hubspot_owner_id",
              "external_id": EXTERNAL_ID},
    "tickets": {"subject": "subject", "body": "content", "owner": "hubspot_owner_id"},
}
_ACTIVITY_TEXT = {  # (subject property, body property); a note's subject is its body's first line
    "notes": (None, "hs_note_body"),
    "calls": ("hs_call_title", "hs_call_body"),
    "meetings": ("hs_meeting_title", "hs_meeting_body"),
    "emails": ("hs_email_subject", "hs_email_text"),
    "tasks": ("hs_task_subject", "hs_task_body"),
}
MODIFIED = {"contacts": "lastmodifieddate"}  # every other type: hs_lastmodifieddate

READ_PROPERTIES: dict[str, tuple[str, ...]] = {
    "companies": (*_PLAIN["companies"].values(), "createdate", "hs_lastmodifieddate", LAST_WRITE_PROPERTY),
    "contacts": (*_PLAIN["contacts"].values(), ALIASES, "lifecyclestage", "associatedcompanyid", "createdate",
                 "lastmodifieddate", LAST_WRITE_PROPERTY),
    "deals": (*_PLAIN["deals"].values(), "dealstage", "pipeline", "closedate", "hs_v2_date_entered_current_stage",
              "notes_last_updated", "createdate", "hs_lastmodifieddate", LAST_WRITE_PROPERTY),
    "tickets": (*_PLAIN["tickets"].values(), "hs_ticket_priority", "hs_pipeline", "hs_pipeline_stage", SLA_PROPERTY,
                "createdate", "hs_lastmodifieddate", LAST_WRITE_PROPERTY),
    **{t: (*(p for p in _ACTIVITY_TEXT[t] if p), "hs_timestamp", "hubspot_owner_id", "hs_createdate",
           "hs_lastmodifieddate", LAST_WRITE_PROPERTY, *(("hs_task_status",) if t == "tasks" else ()))
       for t in ACTIVITY_TYPES.values()},
}

_LIFECYCLE_READ = {"subscriber": "lead", "lead": "lead", "marketingqualifiedlead": "prospect",
                   "salesqualifiedlead": "prospect", "opportunity": "prospect", "customer": "customer",
                   "evangelist": "customer", "other": "churned"}
LIFECYCLE_WRITE = {"lead": "lead", "prospect": "opportunity", "customer": "customer", "churned": "other"}
_PRIORITY_READ = {"LOW": "low", "MEDIUM": "normal", "HIGH": "high", "URGENT": "urgent"}
PRIORITY_WRITE = {v: k for k, v in _PRIORITY_READ.items()}

# Association type ids HubSpot defines (v4), from the first object type to the second.
ASSOCIATION_TYPE: dict[tuple[str, str], int] = {
    ("contacts", "companies"): 1, ("deals", "companies"): 5, ("deals", "contacts"): 3,
    ("tickets", "companies"): 26, ("tickets", "contacts"): 16,
    ("notes", "contacts"): 202, ("notes", "companies"): 190, ("notes", "deals"): 214,
    ("calls", "contacts"): 194, ("calls", "companies"): 182, ("calls", "deals"): 206,
    ("emails", "contacts"): 198, ("emails", "companies"): 186, ("emails", "deals"): 210,
    ("meetings", "contacts"): 200, ("meetings", "companies"): 188, ("meetings", "deals"): 212,
    ("tasks", "contacts"): 204, ("tasks", "companies"): 192, ("tasks", "deals"): 216,
}
REFERENCES = {"company_id": "companies", "contact_id": "contacts", "deal_id": "deals"}


@dataclass(frozen=True)
class Stages:
    """The stage and status maps of [hubspot], both ways."""

    deal: Mapping[str, str]
    ticket: Mapping[str, str]
    deal_pipelines: tuple[str, ...] = ("default",)
    deal_pipeline: str = "default"
    ticket_pipeline: str = "0"
    deal_write: dict[str, str] = field(default_factory=dict)
    ticket_write: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for source, target in ((self.deal, self.deal_write), (self.ticket, self.ticket_write)):
            for stage_id, ours in source.items():
                target.setdefault(ours, stage_id)  # the first HubSpot stage of a bot stage is where writes go

    def deal_ids(self, stages: tuple[str, ...]) -> list[str]:
        return [i for i, s in self.deal.items() if s in stages]

    def ticket_ids(self, statuses: tuple[str, ...]) -> list[str]:
        return [i for i, s in self.ticket.items() if s in statuses]


@dataclass(frozen=True)
class HsObject:
    """One HubSpot object as read: id, string properties, times, and association ids by type."""

    type: str
    id: int
    properties: Mapping[str, str | None]
    created_at: datetime
    updated_at: datetime
    associations: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return to_version(self.updated_at)


def to_version(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_json(object_type: str, obj: Mapping[str, Any]) -> HsObject:
    """An HsObject from HubSpot's JSON for one object (with or without associations)."""
    associations: dict[str, tuple[int, ...]] = {}
    for name, collection in (obj.get("associations") or {}).items():
        ids: list[int] = []
        for item in collection.get("results") or ():  # several entries per record: one per association label
            value = int(item["id"])
            if value not in ids:
                ids.append(value)
        associations[name] = tuple(ids)
    return HsObject(object_type, int(obj["id"]), dict(obj.get("properties") or {}), _parse_time(obj["createdAt"]),
                    _parse_time(obj["updatedAt"]), associations)


# The legacy v1 Engagements API names engagement types in capitals; e-mails come in three kinds.
_V1_TYPES = {"NOTE": "notes", "CALL": "calls", "MEETING": "meetings", "EMAIL": "emails", "INCOMING_EMAIL": "emails",
             "FORWARDED_EMAIL": "emails", "TASK": "tasks"}
_V1_TEXT = {"notes": {"hs_note_body": "body"}, "calls": {"hs_call_title": "title", "hs_call_body": "body"},
            "meetings": {"hs_meeting_title": "title", "hs_meeting_body": "body"},
            "emails": {"hs_email_subject": "subject", "hs_email_text": "text"},
            "tasks": {"hs_task_subject": "subject", "hs_task_body": "body", "hs_task_status": "status"}}
_V1_LINKS = {"contactIds": "contacts", "companyIds": "companies", "dealIds": "deals", "ticketIds": "tickets"}


def from_v1(item: Mapping[str, Any]) -> HsObject | None:
    """The HsObject of one engagement of the v1 Engagements API (its `engagement`, `associations`
    and `metadata`), with the v3 property names to_record reads; None for kinds the bot does not
    know (SMS, WhatsApp, postal mail ...). Times there are epoch milliseconds."""
    engagement, metadata = item.get("engagement") or {}, item.get("metadata") or {}
    object_type = _V1_TYPES.get(str(engagement.get("type")))
    if object_type is None:
        return None
    props: dict[str, str | None] = {name: _v1_text(metadata.get(key)) for name, key in _V1_TEXT[object_type].items()}
    props["hs_timestamp"] = str(engagement.get("timestamp") or engagement["createdAt"])
    props["hubspot_owner_id"] = str(engagement["ownerId"]) if engagement.get("ownerId") else None
    links = {name: tuple(int(i) for i in (item.get("associations") or {}).get(key) or ())
             for key, name in _V1_LINKS.items()}
    return HsObject(object_type, int(engagement["id"]), props, _parse_time(str(engagement["createdAt"])),
                    _parse_time(str(engagement.get("lastUpdated") or engagement["createdAt"])), links)


def _v1_text(value: Any) -> str | None:
    return None if value is None else str(value)


def activity_id(object_type: str, hs_id: int) -> int:
    return hs_id * 10 + _ACTIVITY_DIGIT[_kind_of_type(object_type)]


def split_activity_id(record_id: int) -> tuple[str, int] | None:
    """(object type, HubSpot id) of an activity record id, or None if it cannot be one."""
    digit = record_id % 10
    for kind, n in _ACTIVITY_DIGIT.items():
        if n == digit:
            return ACTIVITY_TYPES[kind], record_id // 10
    return None


def _kind_of_type(object_type: str) -> str:
    return next(k for k, t in ACTIVITY_TYPES.items() if t == object_type)


def to_record(kind: RecordKind, obj: HsObject, stages: Stages, *, related: Mapping[str, int] | None = None) -> Record:
    """The record of kind; `related` gives association ids found by another request."""
    p = obj.properties
    rel = {**{t: ids[0] for t, ids in obj.associations.items() if ids}, **(related or {})}
    common = {"created_at": obj.created_at, "updated_at": obj.updated_at, "version": obj.version}
    if kind == "company":
        return Company(id=obj.id, name=p.get("name") or "", domain=_text(p, "domain"), industry=_text(p, "industry"),
                       employees=_int(p.get("numberofemployees")), country=_text(p, "country"),
                       phone=_text(p, "phone"), owner=_text(p, "hubspot_owner_id"),
                       external_id=_text(p, EXTERNAL_ID), **common)
    if kind == "contact":
        company = _int(p.get("associatedcompanyid")) or rel.get("companies")
        return Contact(id=obj.id, company_id=company, first_name=p.get("firstname") or "",
                       last_name=p.get("lastname") or "", email=_text(p, "email"), phone=_text(p, "phone"),
                       title=_text(p, "jobtitle"), aliases=split_aliases(p.get(ALIASES)),
                       lifecycle_stage=_LIFECYCLE_READ.get(p.get("lifecyclestage") or "", "lead"),
                       lead_source=_text(p, LEAD_SOURCE), owner=_text(p, "hubspot_owner_id"),
                       external_id=_text(p, EXTERNAL_ID), **common)
    if kind == "deal":
        return Deal(id=obj.id, name=p.get("dealname") or "", company_id=rel.get("companies", 0),
                    contact_id=rel.get("contacts"), stage=stages.deal.get(p.get("dealstage") or "", "lead"),
                    amount=_decimal(p.get("amount")), currency=p.get("deal_currency_code") or "EUR",
                    close_date=_date(p.get("closedate")), owner=_text(p, "hubspot_owner_id"),
                    stage_changed_at=_time(p.get("hs_v2_date_entered_current_stage")) or obj.created_at,
                    last_activity_at=_time(p.get("notes_last_updated")), external_id=_text(p, EXTERNAL_ID), **common)
    if kind == "ticket":
        return Ticket(id=obj.id, subject=p.get("subject") or "", body=p.get("content") or "",
                      company_id=rel.get("companies", 0), contact_id=rel.get("contacts"),
                      priority=_PRIORITY_READ.get(p.get("hs_ticket_priority") or "", "normal"),
                      status=stages.ticket.get(p.get("hs_pipeline_stage") or "", "open"),
                      sla_due_at=_time(p.get(SLA_PROPERTY)), owner=_text(p, "hubspot_owner_id"), **common)
    subject_prop, body_prop = _ACTIVITY_TEXT[obj.type]
    body = p.get(body_prop) or ""
    if subject_prop is None:
        subject, _, body = body.partition("\n\n")
    else:
        subject = p.get(subject_prop) or ""
    is_task = obj.type == "tasks"
    moment = _time(p.get("hs_timestamp")) or obj.created_at
    return Activity(id=activity_id(obj.type, obj.id), kind=_kind_of_type(obj.type), subject=subject, body=body,
                    company_id=rel.get("companies"), contact_id=rel.get("contacts"), deal_id=rel.get("deals"),
                    owner=_text(p, "hubspot_owner_id"), occurred_at=obj.created_at if is_task else moment,
                    due_at=moment if is_task else None, done=is_task and p.get("hs_task_status") == "COMPLETED",
                    **common)


def to_properties(kind: RecordKind, values: Mapping[str, Any], stages: Stages, *,
                  object_type: str) -> dict[str, str]:
    """HubSpot properties for validated bot fields (references are associations, not properties)."""
    props: dict[str, str] = {}
    plain = _PLAIN.get(object_type, {})
    for name, value in values.items():
        if name in REFERENCES or name == "kind":
            continue
        if name in plain:
            props[plain[name]] = to_text(value)
        elif name == "aliases":
            props[ALIASES] = "; ".join(value or ())
        elif name == "lifecycle_stage":
            props["lifecyclestage"] = LIFECYCLE_WRITE[value]
        elif name == "stage":
            if value not in stages.deal_write:
                raise ValidationFailed(f"stage: no HubSpot deal stage is mapped to {value} ([hubspot].deal_stages)")
            props["dealstage"] = stages.deal_write[value]
        elif name == "close_date":
            props["closedate"] = to_text(datetime.combine(value, time(), timezone.utc)) if value else ""
        elif name == "status":
            if value not in stages.ticket_write:
                raise ValidationFailed(f"status: no HubSpot ticket stage is mapped to {value} ([hubspot].ticket_stages)")
            props["hs_pipeline_stage"] = stages.ticket_write[value]
        elif name == "priority":
            props["hs_ticket_priority"] = PRIORITY_WRITE[value]
        elif name == "sla_due_at":
            if value is not None:
                # HubSpot calculates it from the account's SLA policies and refuses it on write.
                raise ValidationFailed("sla_due_at: HubSpot sets a ticket's SLA due date from its SLA policies "
                                       "(Service Hub); it cannot be written")
        else:
            props.update(_activity_property(object_type, name, value, values))
    return props


def _activity_property(object_type: str, name: str, value: Any, values: Mapping[str, Any]) -> dict[str, str]:
    subject_prop, body_prop = _ACTIVITY_TEXT.get(object_type, (None, None))
    if body_prop is None:
        raise ValidationFailed(f"{name}: unknown field")
    if name == "subject":
        if subject_prop is None:  # a note: subject and body share hs_note_body
            return {body_prop: f"{value}\n\n{values.get('body') or ''}".rstrip()}
        return {subject_prop: to_text(value)}
    if name == "body":
        return {} if subject_prop is None and "subject" in values else {body_prop: to_text(value)}
    if name == "owner":
        return {"hubspot_owner_id": to_text(value)}
    if name in ("occurred_at", "due_at"):
        # hs_timestamp is when a call, meeting, note or e-mail happened, and when a task is due.
        when = values.get("due_at") or values.get("occurred_at") if object_type == "tasks" else values.get("occurred_at")
        return {"hs_timestamp": to_text(when)} if when is not None else {}
    if name == "done":
        if object_type == "tasks":
            return {"hs_task_status": "COMPLETED" if value else "NOT_STARTED"}
        if value:
            raise ValidationFailed("done: only a task can be done")
        return {}
    raise ValidationFailed(f"{name}: unknown field")


def to_text(value: Any) -> str:
    """A property value as HubSpot takes it: strings, ISO 8601 times in UTC, '' to clear."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def to_millis(value: date | datetime) -> str:
    """A filter value for a date or datetime property: epoch milliseconds, as a string."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), timezone.utc)
    return str(int(value.timestamp() * 1000))


def split_aliases(text: str | None) -> tuple[str, ...]:
    return tuple(a.strip() for a in (text or "").split(";") if a.strip())


def _text(p: Mapping[str, str | None], name: str) -> str | None:
    value = p.get(name)
    return value if value not in (None, "") else None


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


def _decimal(value: str | None) -> Decimal:
    try:
        return Decimal(value or "0").quantize(Decimal("0.01"))
    except InvalidOperation:
        return Decimal("0.00")


def _time(value: str | None) -> datetime | None:
    """A HubSpot time: ISO 8601 (what v3 returns) or epoch milliseconds (what some properties hold)."""
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, timezone.utc)
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    moment = _time(value)
    return moment.date() if moment else None


def _parse_time(value: str) -> datetime:
    moment = _time(value)
    if moment is None:
        raise ValueError(f"not a time: {value!r}")
    return moment


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)

