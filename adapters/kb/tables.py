"""Tables of the local knowledge-base index (the FTS table itself is made by the migrations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Text
from sqlmodel import Field, SQLModel


class KbDocumentRow(SQLModel, table=True):
    """An indexed file; size, mtime and hash decide whether it must be indexed again."""

    __tablename__ = "kb_document"

    path: str = Field(primary_key=True, max_length=500)
    title: str = Field(max_length=300)
    sha256: str = Field(max_length=64)
    size: int = Field(sa_type=BigInteger)
    mtime_ns: int = Field(sa_type=BigInteger)
    indexed_at: datetime


class KbSectionRow(SQLModel, table=True):
    """A part of an article under one heading."""

    __tablename__ = "kb_section"

    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(foreign_key="kb_document.path", max_length=500, index=True)
    position: int
    heading: str = Field(max_length=300)
    anchor: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
