"""SQLModel tables of the local CRM. Timestamps are aware UTC datetimes.

The full-text tables (crm_contact_fts, crm_company_fts) are not models: their shape differs per
database (an FTS5 virtual table on SQLite, a tsvector table on PostgreSQL) and the migrations
create them; see adapters/crm/local/search.py.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, Numeric, Text
from sqlmodel import Field, SQLModel


class OwnerRow(SQLModel, table=True):
    """A CRM user who owns records (the records' `owner` holds this id)."""

    __tablename__ = "crm_owner"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254, unique=True)
    team: str | None = Field(default=None, max_length=64)


class CompanyRow(SQLModel, table=True):
    __tablename__ = "crm_company"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    domain: str | None = Field(default=None, max_length=200, index=True)
    industry: str | None = Field(default=None, max_length=100)
    employees: int | None = None
    country: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    owner: str | None = Field(default=None, max_length=64, index=True)
    external_id: str | None = Field(default=None, max_length=100, unique=True)
    created_at: datetime
    updated_at: datetime
    version: int = 1


class ContactRow(SQLModel, table=True):
    __tablename__ = "crm_contact"
    __table_args__ = (Index("ix_crm_contact_stage_created", "lifecycle_stage", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int | None = Field(default=None, foreign_key="crm_company.id", index=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=254, index=True)
    phone: str | None = Field(default=None, max_length=32)
    title: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list, sa_type=JSON)
    lifecycle_stage: str = Field(default="lead", max_length=16)
    lead_source: str | None = Field(default=None, max_length=64)
    owner: str | None = Field(default=None, max_length=64, index=True)
    external_id: str | None = Field(default=None, max_length=100, unique=True)
    created_at: datetime
    updated_at: datetime
    version: int = 1


class DealRow(SQLModel, table=True):
    __tablename__ = "crm_deal"
    __table_args__ = (
        Index("ix_crm_deal_stage_close", "stage", "close_date"),
        Index("ix_crm_deal_owner_stage", "owner", "stage"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    company_id: int = Field(foreign_key="crm_company.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="crm_contact.id", index=True)
    stage: str = Field(max_length=16)
    amount: Decimal = Field(sa_type=Numeric(14, 2))
    currency: str = Field(default="EUR", max_length=3)
    close_date: date | None = Field(default=None, index=True)
    owner: str | None = Field(default=None, max_length=64)
    stage_changed_at: datetime = Field(index=True)  # pipeline movement in digests
    last_activity_at: datetime | None = Field(default=None, index=True)
    external_id: str | None = Field(default=None, max_length=100, unique=True)
    created_at: datetime = Field(index=True)
    updated_at: datetime
    version: int = 1


class ActivityRow(SQLModel, table=True):
    __tablename__ = "crm_activity"
    __table_args__ = (
        Index("ix_crm_activity_company_time", "company_id", "occurred_at"),
        Index("ix_crm_activity_contact_time", "contact_id", "occurred_at"),
        Index("ix_crm_activity_deal_time", "deal_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    subject: str = Field(max_length=300)
    body: str = Field(default="", sa_type=Text)
    company_id: int | None = Field(default=None, foreign_key="crm_company.id")
    contact_id: int | None = Field(default=None, foreign_key="crm_contact.id")
    deal_id: int | None = Field(default=None, foreign_key="crm_deal.id")
    owner: str | None = Field(default=None, max_length=64)
    occurred_at: datetime = Field(index=True)
    due_at: datetime | None = None
    done: bool = False
    created_at: datetime
    updated_at: datetime
    version: int = 1


class TicketRow(SQLModel, table=True):
    __tablename__ = "crm_ticket"
    __table_args__ = (Index("ix_crm_ticket_status_priority", "status", "priority"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=300)
    body: str = Field(default="", sa_type=Text)
    company_id: int = Field(foreign_key="crm_company.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="crm_contact.id", index=True)
    priority: str = Field(default="normal", max_length=8)
    status: str = Field(default="open", max_length=8)
    sla_due_at: datetime | None = Field(default=None, index=True)
    owner: str | None = Field(default=None, max_length=64)
    created_at: datetime
    updated_at: datetime
    version: int = 1


class IdempotencyRow(SQLModel, table=True):
    """The outcome of a write, under the key its caller gave; a repeat returns it unchanged."""

    __tablename__ = "crm_idempotency"

    key: str = Field(primary_key=True, max_length=200)
    operation: str = Field(max_length=16)
    record_kind: str = Field(max_length=16)
    record_id: int
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime


ROW_MODELS: dict[str, type[SQLModel]] = {
    "company": CompanyRow,
    "contact": ContactRow,
    "deal": DealRow,
    "activity": ActivityRow,
    "ticket": TicketRow,
}
