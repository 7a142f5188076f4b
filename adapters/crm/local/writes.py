"""Versioned, idempotent writes of the local CRM.

A write and its idempotency row commit in one transaction, so a repeated key either finds the
stored outcome or races on the primary key and then finds it. Updates change a row only
`WHERE id = :id AND version = :v`; a row count of zero means someone else wrote first. Without a
basis v is the version the write was planned on; with one (the fields it depends on, as planned)
those fields are compared with the row read in the same transaction and v is that row's version,
so an unrelated change since the plan does not block the write, and one that lands between the
read and the write makes it read again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from adapters import fulltext
from adapters.crm.base import (
    ConflictError,
    CrmError,
    NotFoundError,
    RecordKind,
    ValidationFailed,
    WriteResult,
)
from adapters.crm.basis import moved_fields
from adapters.crm.fields import validate_fields
from adapters.crm.local import search
from adapters.crm.local.convert import from_snapshot, snapshot, to_record
from adapters.crm.local.tables import ROW_MODELS, CompanyRow, ContactRow, DealRow, IdempotencyRow

_BASIS_ATTEMPTS = 3  # reads and writes of one update given a basis, when others write in between
_REFERENCES = {"company_id": "company", "contact_id": "contact", "deal_id": "deal"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Writer:
    """Runs creates and updates against one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, kind: RecordKind, fields: Mapping[str, Any], *, idempotency_key: str) -> WriteResult:
        values = validate_fields(kind, fields, create=True)
        _check_key(idempotency_key)
        try:
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                replay = _replay(session, idempotency_key, "create", kind, None)
                if replay:
                    return replay
                _check_references(session, values)
                now = utcnow()
                extra: dict[str, Any] = {"created_at": now, "updated_at": now, "version": 1}
                if kind == "deal":
                    extra["stage_changed_at"] = now
                if kind == "activity":
                    extra["occurred_at"] = values.get("occurred_at") or now
                row = ROW_MODELS[kind](**{**values, **extra})
                session.add(row)
                session.flush()
                _after_write(session, kind, row)
                record = to_record(kind, row)
                result = WriteResult(record=record, created=True, changed_fields=tuple(sorted(values)))
                _remember(session, idempotency_key, "create", kind, result)
                return result
        except IntegrityError:
            return self._after_integrity_error(idempotency_key, "create", kind, None)

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
        values = validate_fields(kind, changes, create=False)
        _check_key(idempotency_key)
        try:
            for _ in range(_BASIS_ATTEMPTS):
                result = self._update_once(kind, record_id, values, expected_version, idempotency_key, basis)
                if result is not None:
                    return result
            # Other writers kept moving the record between our read and our write: treat it as stale.
            current = self._current(kind, record_id)
            raise ConflictError(current, expected_version)
        except IntegrityError:
            return self._after_integrity_error(idempotency_key, "update", kind, record_id)

    def _update_once(self, kind: RecordKind, record_id: int, values: dict[str, Any], expected_version: int,
                     key: str, basis: Mapping[str, Any] | None) -> WriteResult | None:
        """One attempt; None when, with a basis, another write landed between the read and the write
        (the caller reads again: that write may not touch the fields this one depends on)."""
        model = ROW_MODELS[kind]
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            replay = _replay(session, key, "update", kind, record_id)
            if replay:
                return replay
            row = session.get(model, record_id)
            if row is None:
                raise NotFoundError(kind, record_id)
            if basis is not None:
                moved = moved_fields(kind, to_record(kind, row), basis)
                if moved:
                    raise ConflictError(to_record(kind, row), expected_version, moved)
                version = row.version  # the fields still hold what was planned: write on the record as it is
            else:
                version = expected_version
            _check_references(session, values)
            changed = tuple(sorted(k for k, v in values.items() if getattr(row, k) != v))
            if not changed:
                # Nothing to write: keep the version, so a no-op cannot make approvals stale.
                if row.version != version:
                    raise ConflictError(to_record(kind, row), expected_version)
                result = WriteResult(record=to_record(kind, row), created=False)
                _remember(session, key, "update", kind, result)
                return result
            now = utcnow()
            extra: dict[str, Any] = {"updated_at": now, "version": model.version + 1}
            if kind == "deal" and "stage" in changed:
                extra["stage_changed_at"] = now
            rows = session.execute(
                update(model)
                .where(model.id == record_id, model.version == version)
                .values(**values, **extra)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.expire(row)
            current = session.get(model, record_id)
            if rows == 0:
                if basis is not None:
                    return None
                raise ConflictError(to_record(kind, current), expected_version)
            _after_write(session, kind, current)
            result = WriteResult(record=to_record(kind, current), created=False, changed_fields=changed)
            _remember(session, key, "update", kind, result)
            return result

    def _current(self, kind: RecordKind, record_id: int) -> Any:
        with Session(self._engine) as session:
            row = session.get(ROW_MODELS[kind], record_id)
            if row is None:
                raise NotFoundError(kind, record_id)
            return to_record(kind, row)

    def _after_integrity_error(
        self, key: str, operation: str, kind: RecordKind, record_id: int | None
    ) -> WriteResult:
        # Either a concurrent write with the same key won the race, or a unique column clashed.
        with Session(self._engine) as session:
            replay = _replay(session, key, operation, kind, record_id)
        if replay:
            return replay
        # external_id is the only unique field a caller sets; the driver's wording varies.
        raise ValidationFailed(f"external_id: already used by another {kind}") from None


def _check_key(key: str) -> None:
    if not key or len(key) > 200:
        raise ValidationFailed("idempotency_key: expected 1 to 200 characters")


def _replay(
    session: Session, key: str, operation: str, kind: RecordKind, record_id: int | None
) -> WriteResult | None:
    stored = session.get(IdempotencyRow, key)
    if stored is None:
        return None
    if stored.operation != operation or stored.record_kind != kind or (
        record_id is not None and stored.record_id != record_id
    ):
        raise CrmError(f"idempotency key {key!r} was already used for a different write")
    result = stored.result
    return WriteResult(
        record=from_snapshot(kind, result["record"]),
        created=result["created"],
        replayed=True,
        changed_fields=tuple(result["changed_fields"]),
    )


def _remember(session: Session, key: str, operation: str, kind: RecordKind, result: WriteResult) -> None:
    session.add(
        IdempotencyRow(
            key=key,
            operation=operation,
            record_kind=kind,
            record_id=result.record.id,
            result={
                "record": snapshot(result.record),
                "created": result.created,
                "changed_fields": list(result.changed_fields),
            },
            created_at=utcnow(),
        )
    )
    session.flush()


def _check_references(session: Session, values: Mapping[str, Any]) -> None:
    for field, kind in _REFERENCES.items():
        ref = values.get(field)
        if ref is not None and session.get(ROW_MODELS[kind], ref) is None:
            raise ValidationFailed(f"{field}: {kind} {ref} does not exist")


def _after_write(session: Session, kind: RecordKind, row: Any) -> None:
    """Keep derived data current: the search index and a deal's last activity time."""
    conn = session.connection()
    if kind == "contact":
        company = session.get(CompanyRow, row.company_id) if row.company_id else None
        doc = search.contact_document(
            row.first_name, row.last_name, row.aliases or [], row.email, row.phone, row.title,
            company.name if company else None,
        )
        fulltext.upsert(conn, search.CONTACT_INDEX, [(row.id, doc)])
    elif kind == "company":
        doc = search.company_document(row.name, row.domain, row.industry, row.country, row.phone)
        fulltext.upsert(conn, search.COMPANY_INDEX, [(row.id, doc)])
        _reindex_company_contacts(session, row.id, row.name)
    elif kind == "activity" and row.deal_id:
        # Derived, not an edit: it must not bump the deal's version (approvals check it).
        session.execute(
            update(DealRow)
            .where(DealRow.id == row.deal_id)
            .values(last_activity_at=func.coalesce(
                func.max(DealRow.last_activity_at, row.occurred_at)
                if session.bind.dialect.name == "sqlite"
                else func.greatest(DealRow.last_activity_at, row.occurred_at),
                row.occurred_at,
            ))
            .execution_options(synchronize_session=False)
        )


def _reindex_company_contacts(session: Session, company_id: int, company_name: str) -> None:
    rows = session.scalars(select(ContactRow).where(ContactRow.company_id == company_id)).all()
    docs = [
        (c.id, search.contact_document(c.first_name, c.last_name, c.aliases or [], c.email, c.phone, c.title, company_name))
        for c in rows
    ]
    fulltext.upsert(session.connection(), search.CONTACT_INDEX, docs)
