"""Rows to typed records, and records to and from the JSON snapshots the idempotency table keeps."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from adapters.crm.base import Activity, Company, Contact, Deal, Record, RecordKind, Ticket

RECORD_TYPES: dict[RecordKind, type] = {
    "company": Company,
    "contact": Contact,
    "deal": Deal,
    "activity": Activity,
    "ticket": Ticket,
}
_NAMES = {kind: tuple(f.name for f in fields(cls)) for kind, cls in RECORD_TYPES.items()}
_ADAPTERS = {kind: TypeAdapter(cls) for kind, cls in RECORD_TYPES.items()}


def to_record(kind: RecordKind, row: Any) -> Record:
    """Build the frozen record of kind from an ORM row or a result row with the same names."""
    values = {name: getattr(row, name) for name in _NAMES[kind]}
    if kind == "contact":
        values["aliases"] = tuple(values["aliases"] or ())
    elif kind == "deal":
        values["amount"] = Decimal(values["amount"]).quantize(Decimal("0.01"))
    return RECORD_TYPES[kind](**values)


def kind_of(record: Record) -> RecordKind:
    return type(record).__name__.lower()  # type: ignore[return-value]


def snapshot(record: Record) -> dict[str, Any]:
    """JSON-safe dict of a record."""
    return _ADAPTERS[kind_of(record)].dump_python(record, mode="json")


def from_snapshot(kind: RecordKind, data: dict[str, Any]) -> Record:
    return _ADAPTERS[kind].validate_python(data)
