"""The records behind the HubSpot emulator: objects, associations, owners, properties, search.

It keeps HubSpot's rules that the adapter depends on: every property value is a string; ids are
numeric strings; `createdAt`/`updatedAt` (and `createdate`, `hs_lastmodifieddate`, a contact's
`lastmodifieddate`) are set by the server and `updatedAt` moves on every change; a property with
unique values refuses a duplicate (409), as a contact's e-mail does; a deal's
`hs_v2_date_entered_current_stage` moves when its stage does and its `notes_last_updated` when an
engagement is associated with it; a contact's `associatedcompanyid` follows its primary company;
a ticket's SLA times are calculated by HubSpot and refused on write (400 READ_ONLY_VALUE); an owner
id that is none of the account's owners is refused (400 INVALID_OWNER_ID) once the account has owners.
Search follows the documented operators, `sorts`, `after` paging and the 10,000-result cap.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

ENGAGEMENTS = ("notes", "calls", "meetings", "emails", "tasks")
TYPES = ("contacts", "companies", "deals", "tickets", *ENGAGEMENTS)
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "tickets": "ticket",
            **{t: t[:-1] for t in ENGAGEMENTS}}
PLURAL = {v: k for k, v in SINGULAR.items()}
# Properties HubSpot defines, per type (enough for what the adapter reads and writes).
STANDARD: dict[str, set[str]] = {
    "contacts": {"firstname", "lastname", "email", "phone", "mobilephone", "jobtitle", "lifecyclestage",
                 "hubspot_owner_id", "associatedcompanyid", "company"},
    "companies": {"name", "domain", "website", "industry", "numberofemployees", "country", "phone",
                  "hubspot_owner_id"},
    "deals": {"dealname", "dealstage", "pipeline", "amount", "deal_currency_code", "closedate", "hubspot_owner_id",
              "hs_v2_date_entered_current_stage", "notes_last_updated"},
    "tickets": {"subject", "content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority", "hubspot_owner_id",
                "hs_time_to_close_sla_due_date", "hs_time_to_first_response_sla_due_date",
                "hs_time_to_close_sla_status", "hs_time_to_first_response_sla_status"},
    "notes": {"hs_note_body", "hs_timestamp", "hubspot_owner_id"},
    "calls": {"hs_call_title", "hs_call_body", "hs_timestamp", "hubspot_owner_id"},
    "meetings": {"hs_meeting_title", "hs_meeting_body", "hs_timestamp", "hubspot_owner_id"},
    "emails": {"hs_email_subject", "hs_email_text", "hs_timestamp", "hubspot_owner_id"},
    "tasks": {"hs_task_subject", "hs_task_body", "hs_task_status", "hs_timestamp", "hubspot_owner_id"},
}
SERVER_SET = {"hs_object_id", "createdate", "hs_createdate", "lastmodifieddate", "hs_lastmodifieddate"}
# Calculated by HubSpot (a ticket's SLA times come from the account's SLA policies): readable and
# searchable, never written through the API; `Store.calculate` sets them as HubSpot would.
READ_ONLY: dict[str, set[str]] = {
    "tickets": {"hs_time_to_close_sla_due_date", "hs_time_to_first_response_sla_due_date",
                "hs_time_to_close_sla_status", "hs_time_to_first_response_sla_status"},
}
# What a search `query` looks in (HubSpot's default searchable properties).
QUERY_PROPERTIES = {"contacts": ("firstname", "lastname", "email", "phone", "mobilephone", "company"),
                    "companies": ("name", "domain", "website", "phone"), "deals": ("dealname",),
                    "tickets": ("subject", "content")}
SEARCH_CAP = 10_000
PRIMARY_COMPANY = {("contacts", "companies"): 1, ("deals", "companies"): 5, ("tickets", "companies"): 26}


class HubSpotError(Exception):
    """An error answer: status, category and message as HubSpot words them."""

    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.category, self.message, self.extra = status, category, message, extra


@dataclass
class Obj:
    type: str
    id: int
    properties: dict[str, str]
    created: int  # epoch ms
    updated: int


@dataclass
class Store:
    """Thread-safe state; `now_ms` is the emulator's clock."""

    now_ms: Callable[[], int]
    objects: dict[str, dict[int, Obj]] = field(default_factory=lambda: {t: {} for t in TYPES})
    # (type, id) -> {(to type, to id): {association type ids}}; kept in both directions.
    links: dict[tuple[str, int], dict[tuple[str, int], set[int]]] = field(default_factory=dict)
    custom: dict[str, dict[str, bool]] = field(default_factory=lambda: {t: {} for t in TYPES})  # name -> unique
    owners: list[dict[str, Any]] = field(default_factory=list)
    taken: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (type, unique property, value) -> id
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: Any = field(default_factory=lambda: itertools.count(1001))
    _last: int = 0

    def tick(self) -> int:
        """A server time that never repeats, so every change moves updatedAt."""
        self._last = max(self.now_ms(), self._last + 1)
        return self._last

    # -- objects ------------------------------------------------------------------------------

    def known(self, object_type: str, name: str) -> bool:
        return name in STANDARD[object_type] or name in self.custom[object_type] or name in SERVER_SET

    def create(self, object_type: str, properties: dict[str, Any],
               associations: Iterable[dict[str, Any]] = ()) -> Obj:
        with self.lock:
            props = self._checked(object_type, properties, None)
            associations = list(associations)
            for a in associations:
                self._get(_to_type(object_type, a), int(a["to"]["id"]), for_association=True)
            now = self.tick()
            obj = Obj(object_type, next(self._ids), {}, now, now)
            self._index(obj, props)
            obj.properties = {k: v for k, v in props.items() if v != ""}
            if object_type == "deals" and "dealstage" in props:
                obj.properties["hs_v2_date_entered_current_stage"] = iso(now)
            self.objects[object_type][obj.id] = obj
            for a in associations:
                for spec in a.get("types") or [{}]:
                    self.link(object_type, obj.id, _to_type(object_type, a), int(a["to"]["id"]),
                              int(spec.get("associationTypeId", 0)))
            return obj

    def update(self, object_type: str, obj_id: int, properties: dict[str, Any]) -> Obj:
        with self.lock:
            obj = self._get(object_type, obj_id)
            props = self._checked(object_type, properties, obj_id)
            now = self.tick()
            self._index(obj, props)
            if object_type == "deals" and props.get("dealstage") not in (None, obj.properties.get("dealstage")):
                obj.properties["hs_v2_date_entered_current_stage"] = iso(now)
            for name, value in props.items():
                if value == "":
                    obj.properties.pop(name, None)
                else:
                    obj.properties[name] = value
            obj.updated = now
            return obj

    def calculate(self, object_type: str, obj_id: int, **properties: str) -> Obj:
        """Set properties HubSpot calculates itself (an SLA policy's due date): no API can."""
        with self.lock:
            obj = self._get(object_type, obj_id)
            obj.properties.update(properties)
            obj.updated = self.tick()
            return obj

    def _checked(self, object_type: str, properties: dict[str, Any], own_id: int | None) -> dict[str, str]:
        props: dict[str, str] = {}
        for name, value in properties.items():
            if name in SERVER_SET or not self.known(object_type, name):
                raise HubSpotError(400, "VALIDATION_ERROR", f'Property values were not valid: [{{"isValid":false,'
                                   f'"message":"Property \\"{name}\\" does not exist","error":"PROPERTY_DOESNT_EXIST",'
                                   f'"name":"{name}"}}]')
            if value is not None and not isinstance(value, str):
                value = str(value).lower() if isinstance(value, bool) else str(value)
            if name in READ_ONLY.get(object_type, ()):
                raise HubSpotError(400, "VALIDATION_ERROR", f'Property values were not valid: [{{"isValid":false,'
                                   f'"message":"{name} is a read only property; its value cannot be set.",'
                                   f'"error":"READ_ONLY_VALUE","name":"{name}"}}]')
            if name == "hubspot_owner_id" and value and self.owners and value not in {o["id"] for o in self.owners}:
                # HubSpot refuses an owner id that is none of the account's users.
                raise HubSpotError(400, "VALIDATION_ERROR", f'Property values were not valid: [{{"isValid":false,'
                                   f'"message":"{value} is not a valid owner id","error":"INVALID_OWNER_ID",'
                                   f'"name":"hubspot_owner_id"}}]')
            props[name] = value or ""
        for name in self._unique(object_type):
            value = props.get(name)
            other = self.taken.get((object_type, name, value.lower())) if value else None
            if other is not None and other != own_id:
                if name == "email":
                    raise HubSpotError(409, "CONFLICT", f"Contact already exists. Existing ID: {other}")
                raise HubSpotError(409, "CONFLICT", f"A {SINGULAR[object_type]} with the value '{value}' for "
                                   f"the unique property '{name}' already exists: {other}")
        return props

    def _unique(self, object_type: str) -> list[str]:
        return [n for n, u in self.custom[object_type].items() if u] + (["email"] if object_type == "contacts" else [])

    def _index(self, obj: Obj, props: dict[str, str]) -> None:
        """Keep the unique values' index current for the properties just written."""
        for name in self._unique(obj.type):
            if name in props:
                old = obj.properties.get(name)
                if old:
                    self.taken.pop((obj.type, name, old.lower()), None)
                if props[name]:
                    self.taken[(obj.type, name, props[name].lower())] = obj.id

    def _get(self, object_type: str, obj_id: int, *, for_association: bool = False) -> Obj:
        obj = self.objects.get(object_type, {}).get(obj_id)
        if obj is None:
            if for_association:
                raise HubSpotError(400, "VALIDATION_ERROR", f"{SINGULAR.get(object_type, object_type)} {obj_id} "
                                   "is not valid for an association")
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        return obj

    def find(self, object_type: str, key: str, id_property: str | None) -> Obj:
        with self.lock:
            if not id_property or id_property == "hs_object_id":
                return self._get(object_type, int(key) if key.isdigit() else -1)
            if id_property not in self._unique(object_type):
                raise HubSpotError(400, "VALIDATION_ERROR", f"{id_property} is not a unique property")
            found = self.taken.get((object_type, id_property, key.lower()))
            if found is None:
                raise HubSpotError(404, "OBJECT_NOT_FOUND", "Object not found.")
            return self.objects[object_type][found]

    # -- associations -------------------------------------------------------------------------

    def link(self, a_type: str, a_id: int, b_type: str, b_id: int, type_id: int = 0) -> None:
        with self.lock:
            self._get(a_type, a_id)
            self._get(b_type, b_id, for_association=True)
            self.links.setdefault((a_type, a_id), {}).setdefault((b_type, b_id), set()).add(type_id)
            self.links.setdefault((b_type, b_id), {}).setdefault((a_type, a_id), set()).add(type_id)
            if (a_type, b_type) == ("contacts", "companies") and (type_id == 1 or not self._objects_linked(a_type, a_id, "companies", b_id)):
                self._set_company(a_id, str(b_id))
            if a_type in ENGAGEMENTS and b_type == "deals":
                stamp = self.objects[a_type][a_id].properties.get("hs_timestamp") or iso(self.now_ms())
                deal = self.objects["deals"][b_id].properties
                if ms(stamp) > ms(deal.get("notes_last_updated") or "0"):
                    deal["notes_last_updated"] = stamp

    def _set_company(self, contact_id: int, company_id: str | None) -> None:
        """associatedcompanyid is a property: changing it changes the contact (updatedAt moves)."""
        contact = self.objects["contacts"][contact_id]
        if contact.properties.get("associatedcompanyid") != company_id:
            if company_id is None:
                contact.properties.pop("associatedcompanyid", None)
            else:
                contact.properties["associatedcompanyid"] = company_id
            contact.updated = self.tick()

    def _objects_linked(self, a_type: str, a_id: int, b_type: str, except_id: int) -> bool:
        return any(t == b_type and i != except_id for t, i in self.links.get((a_type, a_id), {}))

    def unlink(self, a_type: str, a_id: int, b_type: str, b_id: int) -> None:
        with self.lock:
            self.links.get((a_type, a_id), {}).pop((b_type, b_id), None)
            self.links.get((b_type, b_id), {}).pop((a_type, a_id), None)
            if (a_type, b_type) == ("contacts", "companies"):
                props = self.objects["contacts"][a_id].properties
                if props.get("associatedcompanyid") == str(b_id):
                    rest = self.linked(a_type, a_id, "companies")
                    self._set_company(a_id, str(rest[0]) if rest else None)

    def linked(self, a_type: str, a_id: int, b_type: str) -> list[int]:
        return sorted(i for (t, i) in self.links.get((a_type, a_id), {}) if t == b_type)

    def link_types(self, a_type: str, a_id: int, b_type: str, b_id: int) -> set[int]:
        return self.links.get((a_type, a_id), {}).get((b_type, b_id), set())

    # -- search -------------------------------------------------------------------------------

    def search(self, object_type: str, body: dict[str, Any]) -> tuple[list[Obj], int, int | None]:
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
        if limit > 200:
            raise HubSpotError(400, "VALIDATION_ERROR", "limit: must be less than or equal to 200")
        if after + limit > SEARCH_CAP:
            raise HubSpotError(400, "VALIDATION_ERROR", "There was a problem with the request: paging past 10000 "
                               "results is not supported")
        groups = body.get("filterGroups") or []
        if len(groups) > 5 or any(len(g.get("filters") or []) > 6 for g in groups) \
                or sum(len(g.get("filters") or []) for g in groups) > 18:
            raise HubSpotError(400, "VALIDATION_ERROR", "at most 5 filterGroups with at most 6 filters each, "
                               "18 filters in all")
        query = (body.get("query") or "").strip().lower()
        with self.lock:
            found = [o for o in self.objects[object_type].values()
                     if (not groups or any(all(self._match(o, f) for f in g.get("filters") or []) for g in groups))
                     and (not query or self._query(o, query))]
        sorts = body.get("sorts") or []
        if len(sorts) > 1:
            raise HubSpotError(400, "VALIDATION_ERROR", "only one sort is supported")
        if sorts:
            name, descending = sorts[0]["propertyName"], sorts[0].get("direction") == "DESCENDING"
            present = [o for o in found if _value(o, name) not in (None, "")]
            absent = [o for o in found if _value(o, name) in (None, "")]
            present.sort(key=lambda o: (_sort_key(_value(o, name)), o.id), reverse=descending)
            found = present + sorted(absent, key=lambda o: o.id)
        else:
            found.sort(key=lambda o: o.id)
        total = len(found)
        page = found[after:after + limit]
        nxt = after + limit if after + limit < total else None
        return page, total, nxt

    def _query(self, obj: Obj, query: str) -> bool:
        words = [w for w in query.replace(",", " ").split() if w]
        tokens: list[str] = []
        for name in QUERY_PROPERTIES.get(obj.type, ()):
            value = (obj.properties.get(name) or "").lower()
            tokens += [value, *value.replace("@", " ").replace(".", " ").replace("-", " ").split()]
        return all(any(t.startswith(w) for t in tokens) for w in words)

    def _match(self, obj: Obj, f: dict[str, Any]) -> bool:
        name, op = f["propertyName"], f["operator"]
        if name.startswith("associations."):
            target = PLURAL.get(name.split(".", 1)[1], name.split(".", 1)[1])
            ids = {str(i) for i in self.linked(obj.type, obj.id, target)}
            return str(f.get("value")) in ids if op == "EQ" else str(f.get("value")) not in ids
        value = _value(obj, name)
        has = value not in (None, "")
        if op == "HAS_PROPERTY":
            return has
        if op == "NOT_HAS_PROPERTY":
            return not has
        if op in ("IN", "NOT_IN"):
            inside = has and str(value).lower() in {str(v).lower() for v in f.get("values") or []}
            return inside if op == "IN" else not inside
        if op == "CONTAINS_TOKEN":
            wanted = str(f.get("value", "")).lower().strip("*")
            return has and any(tok.startswith(wanted) for tok in str(value).lower().replace("@", " ").split())
        if op == "BETWEEN":
            return has and _cmp(value, f["value"]) >= 0 and _cmp(value, f["highValue"]) <= 0
        if op == "NEQ":
            return not has or _cmp(value, f.get("value")) != 0
        if not has:
            return False
        c = _cmp(value, f.get("value"))
        return {"EQ": c == 0, "LT": c < 0, "LTE": c <= 0, "GT": c > 0, "GTE": c >= 0}[op]


def _to_type(from_type: str, association: dict[str, Any]) -> str:
    """The object type an inline association of a create points at, from its type id."""
    type_id = int((association.get("types") or [{}])[0].get("associationTypeId", 0))
    table = {1: "companies", 279: "companies", 5: "companies", 341: "companies", 3: "contacts", 26: "companies",
             339: "companies", 16: "contacts", 202: "contacts", 190: "companies", 214: "deals", 194: "contacts",
             182: "companies", 206: "deals", 198: "contacts", 186: "companies", 210: "deals", 200: "contacts",
             188: "companies", 212: "deals", 204: "contacts", 192: "companies", 216: "deals"}
    if type_id not in table:
        raise HubSpotError(400, "VALIDATION_ERROR", f"association type {type_id} is not valid from {from_type}")
    return table[type_id]


def _value(obj: Obj, name: str) -> str | None:
    if name == "hs_object_id":
        return str(obj.id)
    if name in ("createdate", "hs_createdate"):
        return iso(obj.created)
    if name in ("lastmodifieddate", "hs_lastmodifieddate"):
        return iso(obj.updated)
    return obj.properties.get(name)


def _sort_key(value: Any) -> tuple[int, float, str]:
    number = _number(value)
    return (0, number, "") if number is not None else (1, 0.0, str(value).lower())


def _number(value: Any) -> float | None:
    text = str(value)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(ms(text))
    except ValueError:
        return None


def _cmp(left: Any, right: Any) -> int:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    x, y = str(left).lower(), str(right).lower()
    return (x > y) - (x < y)


def iso(millis: int) -> str:
    moment = datetime.fromtimestamp(millis / 1000, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ms(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 time or of a number of milliseconds; ValueError otherwise."""
    if text.isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)
