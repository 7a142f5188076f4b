"""The write operations behind the agent's write tools: how each is planned and executed.

Planning validates the arguments, loads the target record and captures its version, and returns
a Draft (summary and before/after diff) to be stored as a proposal. Execution runs only from an
approved proposal, with the proposal id as the adapter's idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import SkipJsonSchema

from adapters.crm.base import (
    ACTIVITY_KINDS,
    DEAL_STAGES,
    LIFECYCLE_STAGES,
    OPEN_DEAL_STAGES,
    TICKET_PRIORITIES,
    CrmAdapter,
    CrmError,
    RecordKind,
    ValidationFailed,
)
from adapters.crm.fields import describe_error, validate_fields
from adapters.email.base import EmailMessage, EmailSender
from bot.actions.email_checks import KnownFinder, email_warnings
from bot.records import PlanError

Risk = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class Draft:
    """A write, ready to be stored as a proposal. args are JSON-ready and exactly what executes."""

    tool: str
    args: dict[str, Any]
    summary: str
    diff: tuple[dict[str, Any], ...]
    risk: Risk
    record_kind: str | None = None
    record_id: int | None = None
    record_version: int | None = None
    # What the write depends on, as planned (field -> JSON value): the fields it changes and those
    # it read to decide. Execution refuses the write as stale only when one of them moved.
    basis: dict[str, Any] | None = None


@dataclass(frozen=True)
class Targets:
    """What writes act on, and the clock that dates what a plan fills in."""

    crm: CrmAdapter
    email: EmailSender
    email_sender: str
    clock: Callable[[], datetime]
    amount_threshold: Decimal = Decimal(10_000)  # a deal amount change above this is high risk
    find_known: KnownFinder | None = None  # the CRM's people in a text (names in an e-mail's warnings)
    owner: str | None = None  # the CRM owner of the person proposing: who an activity is logged for


@dataclass(frozen=True)
class Operation:
    name: str
    description: str
    args: type[BaseModel]
    risk: Risk
    plan: Callable[[Targets, BaseModel], Draft]
    # (targets, args, record id, record version, idempotency key, basis) -> result
    execute: Callable[[Targets, Mapping[str, Any], int | None, int | None, str, Mapping[str, Any] | None],
                      dict[str, Any]]

    def parse(self, raw: Mapping[str, Any]) -> BaseModel:
        """Validate arguments; raises PlanError with the first problem."""
        try:
            return self.args.model_validate(dict(raw))
        except ValidationError as exc:
            raise PlanError(f"invalid arguments for {self.name}: {describe_error(exc)}") from None


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def json_value(value: Any) -> Any:
    """A record field as JSON: amounts as decimal strings, dates and times in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _label(record: Any) -> str:
    name = getattr(record, "full_name", None) or getattr(record, "name", None) or getattr(record, "subject", "")
    return f"{type(record).__name__.lower()} {record.id} ({name})"


def _check_refs(crm: CrmAdapter, values: Mapping[str, Any]) -> None:
    for field, kind in (("company_id", "company"), ("contact_id", "contact"), ("deal_id", "deal")):
        if values.get(field) is not None and crm.get(kind, values[field]) is None:  # type: ignore[arg-type]
            raise PlanError(f"{kind} {values[field]} does not exist")


# -- updates ----------------------------------------------------------------------------------


def _update(name: str, kind: RecordKind, id_field: str, args: type[_Args], risk: Risk, description: str) -> Operation:
    def plan(targets: Targets, parsed: BaseModel) -> Draft:
        data = parsed.model_dump(mode="json", exclude_none=True)
        record_id = data.pop(id_field)
        if not data:
            raise PlanError(f"{name}: name at least one field to change")
        record = targets.crm.get(kind, record_id)
        if record is None:
            raise PlanError(f"{kind} {record_id} does not exist")
        try:
            values = validate_fields(kind, data, create=False)
        except ValidationFailed as exc:
            raise PlanError(str(exc)) from None
        _check_refs(targets.crm, values)
        diff = tuple(
            {"field": f, "before": json_value(getattr(record, f)), "after": json_value(v)}
            for f, v in values.items() if getattr(record, f) != v
        )
        if not diff:
            raise PlanError(f"{_label(record)} already has these values; nothing to change")
        changes = ", ".join(f"{d['field']} {d['before']} → {d['after']}" for d in diff)
        return Draft(name, {id_field: record_id, **{d["field"]: data[d["field"]] for d in diff}},
                     f"Update {_label(record)}: {changes}", diff, _risk_of(record, values, risk, targets),
                     kind, record_id, record.version, basis_of(record, diff))

    return Operation(name, description, args, risk, plan, partial(execute_update, kind, id_field))


def basis_of(record: Any, diff: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What an update depends on: the values it changes, as they were, and a deal's currency when
    its amount changes (the amount's meaning, and its risk, depend on it)."""
    basis = {d["field"]: d["before"] for d in diff}
    if "amount" in basis and hasattr(record, "currency"):
        basis.setdefault("currency", record.currency)
    return basis


def _risk_of(record: Any, values: Mapping[str, Any], risk: Risk, targets: Targets) -> Risk:
    """A change's risk: the operation's, raised to high for closing a deal (won or lost) and for a deal
    amount change larger than `approvals.amount_threshold` in the deal's currency."""
    if record is None or not hasattr(record, "amount"):
        return risk
    if values.get("stage") in ("closed_won", "closed_lost") and values.get("stage") != record.stage:
        return "high"
    amount = values.get("amount")
    if amount is not None and abs(Decimal(str(amount)) - record.amount) > targets.amount_threshold:
        return "high"
    return risk


def execute_update(kind: RecordKind, id_field: str, targets: Targets, raw: Mapping[str, Any], record_id: int | None,
                   version: int | None, key: str, basis: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An approved update: only its own fields, refused when a field it depends on moved since it was
    planned (with a basis) or, for a proposal stored without one, when the record's version moved."""
    changes = {k: v for k, v in raw.items() if k != id_field}
    assert record_id is not None and version is not None
    result = targets.crm.update(kind, record_id, changes, expected_version=version, idempotency_key=key, basis=basis)
    return {"record": f"{kind}:{result.record.id}", "version": result.record.version,
            "changed": list(result.changed_fields), "replayed": result.replayed}


class UpdateContactArgs(_Args):
    contact_id: int = Field(ge=1)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    company_id: int | None = Field(None, ge=1)
    lifecycle_stage: Literal[LIFECYCLE_STAGES] | None = None  # type: ignore[valid-type]
    lead_source: str | None = None
    owner: str | None = Field(None, description="Slack user id of the owner")


class UpdateCompanyArgs(_Args):
    company_id: int = Field(ge=1)
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    employees: int | None = Field(None, ge=0)
    country: str | None = None
    phone: str | None = None
    owner: str | None = Field(None, description="Slack user id of the owner")


class UpdateDealArgs(_Args):
    deal_id: int = Field(ge=1)
    name: str | None = None
    stage: Literal[DEAL_STAGES] | None = None  # type: ignore[valid-type]
    amount: Decimal | None = Field(None, ge=0)
    currency: str | None = None
    close_date: date | None = None
    contact_id: int | None = Field(None, ge=1)
    owner: str | None = Field(None, description="Slack user id of the owner")


# -- creates ----------------------------------------------------------------------------------


def _create(name: str, kind: RecordKind, args: type[_Args], risk: Risk, description: str,
            shape: Callable[[dict[str, Any]], dict[str, Any]], title: Callable[[dict[str, Any]], str],
            defaults: Callable[[Targets, dict[str, Any]], dict[str, Any]] = lambda targets, d: d) -> Operation:
    """A create. The proposal stores the tool's arguments (defaults filled in when planned, so what
    is approved is what executes); shape turns them into the record's fields, then and at execution."""

    def plan(targets: Targets, parsed: BaseModel) -> Draft:
        data = defaults(targets, parsed.model_dump(mode="json", exclude_none=True))
        try:
            values = validate_fields(kind, shape(dict(data)), create=True)
        except ValidationFailed as exc:
            raise PlanError(str(exc)) from None
        _check_refs(targets.crm, values)
        diff = tuple({"field": f, "before": None, "after": json_value(v)} for f, v in values.items()
                     if v not in (None, "", []))
        return Draft(name, data, title(data), diff, risk, kind)

    return Operation(name, description, args, risk, plan, partial(execute_create, kind, shape))


def execute_create(kind: RecordKind, shape: Callable[[dict[str, Any]], dict[str, Any]], targets: Targets,
                   raw: Mapping[str, Any], record_id: int | None, version: int | None, key: str,
                   basis: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An approved create: the CRM's create of the record the stored arguments shape."""
    result = targets.crm.create(kind, shape(dict(raw)), idempotency_key=key)
    return {"record": f"{kind}:{result.record.id}", "version": result.record.version, "replayed": result.replayed}


class CreateLeadArgs(_Args):
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    company_id: int | None = Field(None, ge=1)
    lead_source: str | None = None
    owner: str | None = Field(None, description="Slack user id of the owner")


class CreateDealArgs(_Args):
    name: str
    company_id: int = Field(ge=1)
    amount: Decimal = Field(ge=0)
    currency: str = "EUR"
    stage: Literal[OPEN_DEAL_STAGES] = "lead"  # type: ignore[valid-type]
    close_date: date | None = None
    contact_id: int | None = Field(None, ge=1)
    owner: str | None = Field(None, description="Slack user id of the owner")


class _Links(_Args):
    company_id: int | None = Field(None, ge=1)
    contact_id: int | None = Field(None, ge=1)
    deal_id: int | None = Field(None, ge=1)


class LogActivityArgs(_Links):
    kind: Literal[tuple(k for k in ACTIVITY_KINDS if k != "task")]  # type: ignore[valid-type]  (tasks: create_task)
    subject: str
    body: str = ""
    occurred_at: datetime | None = Field(None, description="ISO 8601; default: now")
    # Filled in when planned (the requester's CRM owner, so the rep gets the credit); not the model's to set.
    owner: SkipJsonSchema[str | None] = None


class CreateTaskArgs(_Links):
    subject: str
    body: str = ""
    due_date: date
    owner: str | None = Field(None, description="Slack user id of the owner")


class CreateTicketArgs(_Args):
    subject: str
    body: str = ""
    company_id: int = Field(ge=1)
    contact_id: int | None = Field(None, ge=1)
    priority: Literal[TICKET_PRIORITIES] = "normal"  # type: ignore[valid-type]


def _needs_link(data: dict[str, Any]) -> None:
    if not any(data.get(f) for f in ("company_id", "contact_id", "deal_id")):
        raise PlanError("link the activity to a company_id, contact_id or deal_id")


def _with_company(targets: Targets, data: dict[str, Any]) -> dict[str, Any]:
    """Link an activity to its company too, so company-level views (and churn risk) see it."""
    _needs_link(data)
    if data.get("company_id") is None:
        for field, kind in (("deal_id", "deal"), ("contact_id", "contact")):
            record = targets.crm.get(kind, data[field]) if data.get(field) else None  # type: ignore[arg-type]
            if record is not None and getattr(record, "company_id", None):
                return {**data, "company_id": record.company_id}
    return data


def _activity_defaults(targets: Targets, data: dict[str, Any]) -> dict[str, Any]:
    """Now, the company, and the requester as the owner: every activity the bot logs is theirs."""
    occurred = targets.clock().astimezone(timezone.utc).replace(microsecond=0).isoformat()
    data = {"occurred_at": occurred, **_with_company(targets, data)}
    data.pop("owner", None)
    return {**data, "owner": targets.owner} if targets.owner else data


def _task_defaults(targets: Targets, data: dict[str, Any]) -> dict[str, Any]:
    """A task nobody was named for is the requester's."""
    data = _with_company(targets, data)
    return data if data.get("owner") or not targets.owner else {**data, "owner": targets.owner}


def _activity(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "done": True}


def _task(data: dict[str, Any]) -> dict[str, Any]:
    due = datetime.combine(date.fromisoformat(data.pop("due_date")), time(9), tzinfo=timezone.utc)
    return {**data, "kind": "task", "due_at": due.isoformat(), "done": False}


def _links(data: dict[str, Any]) -> str:
    refs = [f"{k.removesuffix('_id')} {data[k]}" for k in ("deal_id", "contact_id", "company_id") if data.get(k)]
    return f" on {', '.join(refs)}" if refs else ""


# -- e-mail -----------------------------------------------------------------------------------


class SendEmailArgs(_Args):
    to: str = Field(description="recipient e-mail address")
    subject: str = Field(min_length=1, max_length=300, pattern=r"^[^\r\n]*$")  # a header: one line
    body: str = Field(min_length=1, max_length=20_000)
    contact_id: int | None = Field(None, ge=1)
    deal_id: int | None = Field(None, ge=1, description="the deal the e-mail is about, if any")
    owner: SkipJsonSchema[str | None] = None  # the requester's CRM owner: who the logged e-mail is for


def _plan_email(targets: Targets, parsed: BaseModel) -> Draft:
    """An e-mail, always high risk; what the approver must check (personal data of others in the
    body, a recipient the CRM does not know) is added to the diff as warnings."""
    data = parsed.model_dump(mode="json", exclude_none=True)
    data.pop("owner", None)
    if targets.owner:
        data["owner"] = targets.owner
    try:
        validate_fields("contact", {"email": data["to"]}, create=False)
    except ValidationFailed:
        raise PlanError(f'send_email: "to" must be an e-mail address, got "{data["to"]}"') from None
    _check_refs(targets.crm, data)
    diff = ({"field": "to", "before": None, "after": data["to"]},
            {"field": "subject", "before": None, "after": data["subject"]},
            {"field": "body", "before": None, "after": data["body"]},
            *email_warnings(targets.crm, to=data["to"], body=data["body"], contact_id=data.get("contact_id"),
                            sender=targets.email_sender, find_known=targets.find_known))
    return Draft("send_email", data, f'Send an e-mail to {data["to"]}: "{data["subject"]}"', diff, "high",
                 "contact" if data.get("contact_id") else None, data.get("contact_id"))


def _send_email(targets: Targets, raw: Mapping[str, Any], record_id: int | None, version: int | None,
                key: str, basis: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Send (or queue) once, then log it as an e-mail activity on its contact and deal, owned by the
    requester. The e-mail has left once this returns; a CRM that cannot log it is noted, not an error."""
    result = targets.email.send(EmailMessage(targets.email_sender, raw["to"], raw["subject"], raw["body"]),
                                idempotency_key=key)
    done: dict[str, Any] = {"email": result.outbox_id, "status": result.status, "replayed": result.replayed}
    links = {f: raw[f] for f in ("contact_id", "deal_id") if raw.get(f)}
    if not links:
        return done
    # No "done": HubSpot refuses it on anything but a task (an e-mail needs no completing).
    fields = {"kind": "email", "subject": raw["subject"], "body": raw["body"],
              "occurred_at": targets.clock().astimezone(timezone.utc).replace(microsecond=0).isoformat(),
              **({"owner": raw["owner"]} if raw.get("owner") else {}), **links}
    try:
        fields = _with_company(targets, fields)
        # Its own key, derived from the proposal's: a retry or a recovery logs it once.
        logged = targets.crm.create("activity", fields, idempotency_key=f"{key}-activity")
    except CrmError as exc:
        return {**done, "activity_error": str(exc)}
    return {**done, "activity": f"activity:{logged.record.id}"}


def operations() -> dict[str, Operation]:
    """Every write the agent can propose, by tool name."""
    ops = [
        _update("update_contact", "contact", "contact_id", UpdateContactArgs, "medium",
                "Propose changes to a contact's fields (only the fields to change)."),
        _update("update_company", "company", "company_id", UpdateCompanyArgs, "medium",
                "Propose changes to a company's fields (only the fields to change)."),
        _update("update_deal", "deal", "deal_id", UpdateDealArgs, "medium",
                "Propose changes to a deal: stage, amount, close date, owner..."),
        _create("create_lead", "contact", CreateLeadArgs, "low", "Propose a new lead (a contact in stage lead).",
                lambda d: {**d, "lifecycle_stage": "lead"},
                lambda d: f"Create lead {d['first_name']} {d['last_name']}"),
        _create("create_deal", "deal", CreateDealArgs, "medium", "Propose a new deal for a company.", lambda d: d,
                lambda d: f"Create deal \"{d['name']}\" for company {d['company_id']}: {d['amount']} {d['currency']}"),
        _create("log_activity", "activity", LogActivityArgs, "low",
                "Propose logging a note, call, meeting or e-mail on a company, contact or deal.", _activity,
                lambda d: f"Log {d['kind']} \"{d['subject']}\"{_links(d)}", _activity_defaults),
        _create("create_task", "activity", CreateTaskArgs, "low", "Propose a follow-up task with a due date.", _task,
                lambda d: f"Create task \"{d['subject']}\" due {d['due_date']}{_links(d)}", _task_defaults),
        _create("create_ticket", "ticket", CreateTicketArgs, "low", "Propose a support ticket for a company.",
                lambda d: d, lambda d: f"Create {d['priority']} ticket \"{d['subject']}\" for company {d['company_id']}"),
        Operation("send_email", "Propose sending an e-mail (high risk: a second person must approve).",
                  SendEmailArgs, "high", _plan_email, _send_email),
    ]
    return {op.name: op for op in ops}
