"""`python -m bot hubspot setup`: prepare a HubSpot account for the bot and say what is missing.

Guarantees: it is safe to run again (a property or group that exists is left as it is, and one
whose uniqueness is wrong is reported, never changed); it checks the token (401) and each scope
the bot needs by a one-record read per object type, and reports every missing scope by name;
it writes no record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.crm.base import CrmUnavailable
from adapters.crm.hubspot.client import ApiError, Transport
from adapters.crm.hubspot.mapping import ACTIVITY_TYPES, CUSTOM_PROPERTIES, KEY_PROPERTY

ENGAGEMENT_TYPES = frozenset(ACTIVITY_TYPES.values())

GROUP = "crm_copilot"
# The scopes the private app needs (README, "Connect HubSpot").
REQUIRED_SCOPES = (
    "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.companies.read",
    "crm.objects.companies.write", "crm.objects.deals.read", "crm.objects.deals.write", "tickets",
    "crm.objects.owners.read", "crm.schemas.contacts.write", "crm.schemas.companies.write",
    "crm.schemas.deals.write",
)
_LABELS = {
    "crm_copilot_key": ("CRM copilot key", "The approved proposal that created this record (unique)."),
    "crm_copilot_last_write": ("CRM copilot last write", "The approved proposal that changed this record last."),
    "crm_copilot_external_id": ("CRM copilot external id", "The record's id in the system it was imported from."),
    "crm_copilot_aliases": ("CRM copilot aliases", "Other names of the contact, separated by ';'."),
    "crm_copilot_lead_source": ("CRM copilot lead source", "Where the lead came from."),
}


@dataclass
class SetupReport:
    """What setup found and did; `ok` when nothing is missing."""

    token_refused: bool = False
    missing_scopes: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # "contacts.crm_copilot_key"
    present: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.token_refused or self.missing_scopes or self.problems)

    def lines(self) -> list[str]:
        if self.token_refused:
            return ["HubSpot refused HUBSPOT_ACCESS_TOKEN (401): copy the private app's access token again"]
        out = [f"created {name}" for name in self.created]
        if self.present:
            out.append(f"already there: {len(self.present)} properties")
        if self.missing_scopes:
            out.append(f"missing scopes: {', '.join(self.missing_scopes)} (add them to the private app and copy "
                       "the new token)")
        out += self.problems
        out.append("HubSpot is ready for the bot" if self.ok else "HubSpot is NOT ready for the bot")
        return out


def setup(transport: Transport) -> SetupReport:
    """Check the token and scopes, then create the bot's property group and properties."""
    report = SetupReport()
    apis = transport.apis
    probes = [("contacts", "crm.objects.contacts.read"), ("companies", "crm.objects.companies.read"),
              ("deals", "crm.objects.deals.read"), ("tickets", "tickets")]
    for object_type, _scope in probes:
        _try(transport, report, f"check {object_type}", apis.objects.get_page, object_type, limit=1)
        if report.token_refused:
            return report
    _try(transport, report, "check owners", apis.owners.get_page, limit=1)
    for object_type, names in CUSTOM_PROPERTIES.items():
        if not _ensure_group(transport, report, object_type):
            continue
        for name in names:
            _ensure_property(transport, report, object_type, name)
    report.missing_scopes = [s for s in transport.denied_scopes if s not in report.missing_scopes]
    return report


def _try(transport: Transport, report: SetupReport, name: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return transport.call(name, "read", fn, *args, **kwargs)
    except CrmUnavailable:
        report.token_refused = transport.token_refused
        return None


def _ensure_group(transport: Transport, report: SetupReport, object_type: str) -> bool:
    body = {"name": GROUP, "label": "CRM copilot", "displayOrder": -1}
    try:
        transport.call(f"create group {object_type}", "safe_write", transport.apis.property_groups.create,
                       object_type, body)
    except ApiError as exc:
        if exc.status != 409:
            report.problems.append(f"{object_type}: cannot create the property group ({exc.body.get('message')})")
            return False
    except CrmUnavailable:
        return False  # a missing scope: reported with the others
    return True


def _ensure_property(transport: Transport, report: SetupReport, object_type: str, name: str) -> None:
    api = transport.apis.properties
    unique = name == KEY_PROPERTY and object_type not in ENGAGEMENT_TYPES  # HubSpot: no unique values there
    where = f"{object_type}.{name}"
    try:
        existing = transport.call(f"get property {object_type}", "read", api.get_by_name, object_type, name)
    except ApiError as exc:
        if exc.status != 404:
            report.problems.append(f"{where}: {exc.body.get('message')}")
            return
        existing = None
    except CrmUnavailable:
        return
    if existing is not None:
        if unique and not existing.get("hasUniqueValue"):
            report.problems.append(f"{where} exists without unique values: creates cannot be retried safely; "
                                   "delete it in HubSpot and run setup again")
        else:
            report.present.append(where)
        return
    label, description = _LABELS[name]
    body = {"name": name, "label": label, "description": description, "groupName": GROUP, "type": "string",
            "fieldType": "text", "hasUniqueValue": unique, "formField": False}
    try:
        transport.call(f"create property {object_type}", "safe_write", api.create, object_type, body)
        report.created.append(where)
    except ApiError as exc:
        if exc.status == 409:
            report.present.append(where)
        else:
            report.problems.append(f"{where}: HubSpot refused it ({exc.body.get('message')})")
    except CrmUnavailable:
        return
