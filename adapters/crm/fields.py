"""Validation of the fields a create or update may set, per record kind.

One pydantic model per kind with every field optional: a create checks the kind's required fields
on top, an update sets only what it names. The CSV importer and the local adapter share them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adapters.crm.base import (
    ACTIVITY_KINDS,
    DEAL_STAGES,
    LIFECYCLE_STAGES,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    RecordKind,
    ValidationFailed,
)

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$")


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("close_date", "occurred_at", "due_at", "sla_due_at", mode="before", check_fields=False)
    @classmethod
    def _no_epoch_numbers(cls, value: Any) -> Any:
        # pydantic would read 1699920000 as a date or time; only ISO 8601 text is meant here.
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
            raise ValueError("expected an ISO 8601 date such as 2026-11-30 (or a time such as 2026-11-30T09:00:00Z)")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _aware_utc(cls, value: Any) -> Any:
        # Times without an offset are read as UTC; every stored time is aware UTC.
        if isinstance(value, datetime):
            return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value


def _check_email(value: str | None) -> str | None:
    if value is not None and not _EMAIL.match(value):
        raise ValueError("expected an e-mail address like name@example.com")
    return value.lower() if value else value


def _check_phone(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[+0-9 ()./-]{6,32}", value) or sum(c.isdigit() for c in value) < 6:
        raise ValueError("expected a phone number such as +44 20 7946 0958")
    return value


class CompanyFields(_Fields):
    name: str | None = Field(None, min_length=1, max_length=200)
    domain: str | None = Field(None, max_length=200)
    industry: str | None = Field(None, max_length=100)
    employees: int | None = Field(None, ge=0, le=10_000_000)
    country: str | None = Field(None, max_length=64)
    phone: str | None = None
    owner: str | None = Field(None, max_length=64)
    external_id: str | None = Field(None, max_length=100)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return _check_phone(value)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", value):
            raise ValueError("expected a domain name such as example.com")
        return value.lower() if value else value


class ContactFields(_Fields):
    first_name: str | None = Field(None, min_length=1, max_length=100)
    last_name: str | None = Field(None, min_length=1, max_length=100)
    company_id: int | None = Field(None, ge=1)
    email: str | None = Field(None, max_length=254)
    phone: str | None = None
    title: str | None = Field(None, max_length=200)
    aliases: list[str] | None = None
    lifecycle_stage: Literal[LIFECYCLE_STAGES] | None = None  # type: ignore[valid-type]
    lead_source: str | None = Field(None, max_length=64)
    owner: str | None = Field(None, max_length=64)
    external_id: str | None = Field(None, max_length=100)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _check_email(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return _check_phone(value)


class DealFields(_Fields):
    name: str | None = Field(None, min_length=1, max_length=200)
    company_id: int | None = Field(None, ge=1)
    contact_id: int | None = Field(None, ge=1)
    stage: Literal[DEAL_STAGES] | None = None  # type: ignore[valid-type]
    amount: Decimal | None = Field(None, ge=0, le=Decimal("999999999999.99"), decimal_places=2)
    currency: str | None = None
    close_date: date | None = None
    owner: str | None = Field(None, max_length=64)
    external_id: str | None = Field(None, max_length=100)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("expected a 3-letter currency code such as EUR")
        return value


class ActivityFields(_Fields):
    kind: Literal[ACTIVITY_KINDS] | None = None  # type: ignore[valid-type]
    subject: str | None = Field(None, min_length=1, max_length=300)
    body: str | None = Field(None, max_length=20_000)
    company_id: int | None = Field(None, ge=1)
    contact_id: int | None = Field(None, ge=1)
    deal_id: int | None = Field(None, ge=1)
    owner: str | None = Field(None, max_length=64)
    occurred_at: datetime | None = None
    due_at: datetime | None = None
    done: bool | None = None


class TicketFields(_Fields):
    subject: str | None = Field(None, min_length=1, max_length=300)
    body: str | None = Field(None, max_length=20_000)
    company_id: int | None = Field(None, ge=1)
    contact_id: int | None = Field(None, ge=1)
    priority: Literal[TICKET_PRIORITIES] | None = None  # type: ignore[valid-type]
    status: Literal[TICKET_STATUSES] | None = None  # type: ignore[valid-type]
    sla_due_at: datetime | None = None
    owner: str | None = Field(None, max_length=64)


FIELD_MODELS: dict[RecordKind, type[_Fields]] = {
    "company": CompanyFields,
    "contact": ContactFields,
    "deal": DealFields,
    "activity": ActivityFields,
    "ticket": TicketFields,
}

REQUIRED: dict[RecordKind, tuple[str, ...]] = {
    "company": ("name",),
    "contact": ("first_name", "last_name"),
    "deal": ("name", "company_id", "amount"),
    "activity": ("kind", "subject"),
    "ticket": ("subject", "company_id"),
}

DEFAULTS: dict[RecordKind, dict[str, Any]] = {
    "company": {},
    "contact": {"lifecycle_stage": "lead", "aliases": []},
    "deal": {"stage": "lead", "currency": "EUR"},
    "activity": {"body": "", "done": False},
    "ticket": {"body": "", "priority": "normal", "status": "open"},
}


def validate_fields(kind: RecordKind, fields: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    """Return the validated fields (only those given, plus defaults on create).

    Raises ValidationFailed naming the first bad field and what is expected.
    """
    model = FIELD_MODELS[kind]
    try:
        parsed = model.model_validate(dict(fields))
    except ValidationError as exc:
        raise ValidationFailed(describe_error(exc)) from None
    values = parsed.model_dump(exclude_unset=True)
    required = REQUIRED[kind]
    if create:
        values = {**DEFAULTS[kind], **{k: v for k, v in values.items() if v is not None}}
        missing = [name for name in required if values.get(name) in (None, "")]
        if missing:
            raise ValidationFailed(f"{', '.join(missing)}: required to create a {kind}")
    else:
        cleared = [name for name in required if name in values and values[name] is None]
        if cleared:
            raise ValidationFailed(f"{', '.join(cleared)}: a {kind} cannot be left without it")
    if kind == "contact" and values.get("aliases") is not None:
        values["aliases"] = [a.strip() for a in values["aliases"] if a and a.strip()]
    return values


def describe_error(exc: ValidationError) -> str:
    """First pydantic error as 'field: message'."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "value"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown field"
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"
