"""Load the generated demo CRM into the local tables, and clear them again."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, text

from adapters import fulltext
from adapters.crm.demo.generate import generate
from adapters.crm.demo.vocabulary import OWNER_PEOPLE
from adapters.crm.local import search
from adapters.crm.local.tables import (
    ActivityRow,
    CompanyRow,
    ContactRow,
    DealRow,
    IdempotencyRow,
    OwnerRow,
    TicketRow,
)

_BATCH = 5000
_TABLES = (ActivityRow, TicketRow, DealRow, ContactRow, CompanyRow)
_ALL_TABLES = (*_TABLES, OwnerRow)


def company_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(CompanyRow)).scalar_one()


def clear(engine: Engine) -> None:
    """Delete every CRM record, its search entries and remembered idempotency keys."""
    with engine.begin() as conn:
        for table in _ALL_TABLES:
            conn.execute(delete(table))
        conn.execute(delete(IdempotencyRow))
        for index in search.INDEXES:
            conn.execute(text(f"DELETE FROM {index.table}"))


def seed(engine: Engine, *, scale: int, seed: int, today: date) -> dict[str, int]:
    """Generate and insert the demo CRM in one transaction; returns counts per kind."""
    data = generate(scale=scale, seed=seed, today=today)
    company_names = {c["id"]: c["name"] for c in data.companies}
    with engine.begin() as conn:
        conn.execute(delete(OwnerRow))
        conn.execute(insert(OwnerRow), [{"id": i, "name": n, "email": e, "team": t} for i, n, e, t in OWNER_PEOPLE])
        for table, rows in (
            (CompanyRow, data.companies), (ContactRow, data.contacts), (DealRow, data.deals),
            (ActivityRow, data.activities), (TicketRow, data.tickets),
        ):
            clean = [_columns(row) for row in rows]
            for start in range(0, len(clean), _BATCH):
                conn.execute(insert(table), clean[start:start + _BATCH])
        fulltext.upsert(conn, search.COMPANY_INDEX, (
            (c["id"], search.company_document(c["name"], c["domain"], c["industry"], c["country"], c["phone"]))
            for c in data.companies
        ), fresh=True)
        fulltext.upsert(conn, search.CONTACT_INDEX, (
            (c["id"], search.contact_document(
                c["first_name"], c["last_name"], c["aliases"], c["email"], c["phone"], c["title"],
                company_names.get(c["company_id"]),
            ))
            for c in data.contacts
        ), fresh=True)
        if conn.dialect.name == "postgresql":
            # Ids were given explicitly, so move each sequence past them.
            for table in _TABLES:
                name = table.__tablename__
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
                ))
    return data.counts()


def _columns(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}
