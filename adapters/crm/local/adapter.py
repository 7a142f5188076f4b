"""LocalCrm: the CrmAdapter whose tables live in the bot's database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select

from adapters import fulltext
from adapters.crm.base import (
    DEAL_STAGES,
    LOOKUP_FIELDS,
    OPEN_DEAL_STAGES,
    OPEN_TICKET_STATUSES,
    Activity,
    ActivityFilter,
    CompanyDetail,
    Contact,
    ContactDetail,
    ContactFilter,
    DirectoryEntry,
    Deal,
    Owner,
    DealDetail,
    DealFilter,
    Record,
    RecordKind,
    SearchHit,
    StageTotal,
    Ticket,
    Owner,
    TicketFilter,
    WriteResult,
)
from adapters.crm.local import search
from adapters.crm.local.convert import to_record
from adapters.crm.local.tables import (
    ROW_MODELS,
    ActivityRow,
    CompanyRow,
    ContactRow,
    DealRow,
    OwnerRow,
    TicketRow,
)
from adapters.crm.local.writes import Writer

RECENT_ACTIVITIES = 10
MAX_LIMIT = 500


class LocalCrm:
    """CRM on the bot's own database; every method is a short blocking transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Reads need no transaction: on PostgreSQL autocommit saves the BEGIN and ROLLBACK round
        # trips, a good part of a get-with-related call. Rows are read with Core, not the ORM.
        self._reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine
        )
        self._writer = Writer(engine)

    def owners(self) -> list[Owner]:
        with self._reader.connect() as conn:
            rows = conn.execute(select(OwnerRow).order_by(OwnerRow.id)).all()
        return [Owner(r.id, r.name, r.email, (r.team,) if r.team else ()) for r in rows]

    # -- search -------------------------------------------------------------------------------

    def search_contacts(self, text: str, *, limit: int = 20) -> list[SearchHit]:
        with self._reader.connect() as conn:
            ranked = self._ranked(conn, search.CONTACT_INDEX, text, limit)
            if not ranked:
                return []
            rows = conn.execute(
                select(ContactRow, CompanyRow.name.label("company_name"))
                .outerjoin(CompanyRow, CompanyRow.id == ContactRow.company_id)
                .where(ContactRow.id.in_([rid for rid, _ in ranked]))
            ).all()
        by_id = {row.id: row for row in rows}
        hits = []
        for rid, score in ranked:
            if rid in by_id:
                c = by_id[rid]
                subtitle = " · ".join(p for p in (c.title, c.company_name, c.email, c.phone) if p)
                hits.append(SearchHit("contact", rid, f"{c.first_name} {c.last_name}", subtitle, score))
        return hits

    def search_companies(self, text: str, *, limit: int = 20) -> list[SearchHit]:
        with self._reader.connect() as conn:
            ranked = self._ranked(conn, search.COMPANY_INDEX, text, limit)
            if not ranked:
                return []
            rows = conn.execute(
                select(CompanyRow).where(CompanyRow.id.in_([rid for rid, _ in ranked]))
            ).all()
        by_id = {row.id: row for row in rows}
        return [
            SearchHit(
                "company", rid, by_id[rid].name,
                " · ".join(p for p in (by_id[rid].domain, by_id[rid].industry, by_id[rid].country) if p),
                score,
            )
            for rid, score in ranked
            if rid in by_id
        ]

    def directory(self) -> Iterator[DirectoryEntry]:
        contacts = select(
            ContactRow.id, ContactRow.first_name, ContactRow.last_name, ContactRow.aliases,
            ContactRow.email, ContactRow.phone,
        ).order_by(ContactRow.id)
        companies = select(CompanyRow.id, CompanyRow.name, CompanyRow.phone).order_by(CompanyRow.id)
        with self._engine.connect() as conn:
            for cid, first, last, aliases, email, phone in conn.execution_options(yield_per=2000).execute(contacts):
                yield DirectoryEntry(
                    "contact", cid, (f"{first} {last}", *(aliases or ())),
                    (email,) if email else (), (phone,) if phone else (),
                )
            for cid, name, phone in conn.execution_options(yield_per=2000).execute(companies):
                yield DirectoryEntry("company", cid, (name,), (), (phone,) if phone else ())

    def record_url(self, kind: RecordKind, record_id: int) -> str | None:
        return None  # records live in the bot's database; slack.record_url may point at a page

    @staticmethod
    def _ranked(conn: Connection, index: fulltext.FtsIndex, text: str, limit: int) -> list[tuple[int, float]]:
        terms = search.query_terms(text)
        return fulltext.search(
            conn, index, terms, match_all=True, prefix=True, limit=_clamp(limit)
        )

    # -- get with related ---------------------------------------------------------------------

    def get(self, kind: RecordKind, record_id: int) -> Record | None:
        with self._reader.connect() as conn:
            row = _get(conn, ROW_MODELS[kind], record_id)
            return to_record(kind, row) if row is not None else None

    def find(
        self, kind: RecordKind, field: str, value: str, *, company_id: int | None = None
    ) -> Record | None:
        if field not in LOOKUP_FIELDS.get(kind, ()):
            raise ValueError(f"cannot look up a {kind} by {field}")
        model = ROW_MODELS[kind]
        query = select(model).where(func.lower(getattr(model, field)) == value.strip().lower())
        if company_id is not None:
            if kind == "company":
                raise ValueError("company_id narrows contacts and deals, not companies")
            query = query.where(model.company_id == company_id)
        with self._reader.connect() as conn:
            row = conn.execute(query.order_by(model.id).limit(1)).first()
            return to_record(kind, row) if row is not None else None

    def get_contact(self, contact_id: int) -> ContactDetail | None:
        with self._reader.connect() as conn:
            row = _get(conn, ContactRow, contact_id)
            if row is None:
                return None
            company = _get(conn, CompanyRow, row.company_id) if row.company_id else None
            return ContactDetail(
                contact=to_record("contact", row),  # type: ignore[arg-type]
                company=to_record("company", company) if company else None,  # type: ignore[arg-type]
                open_deals=self._deals(conn, DealRow.contact_id == contact_id),
                recent_activities=self._activities(conn, ActivityRow.contact_id == contact_id),
                open_tickets=self._tickets(conn, TicketRow.contact_id == contact_id),
            )

    def get_company(self, company_id: int) -> CompanyDetail | None:
        with self._reader.connect() as conn:
            row = _get(conn, CompanyRow, company_id)
            if row is None:
                return None
            contacts = conn.execute(
                select(ContactRow).where(ContactRow.company_id == company_id).order_by(ContactRow.id).limit(50)
            ).all()
            return CompanyDetail(
                company=to_record("company", row),  # type: ignore[arg-type]
                contacts=tuple(to_record("contact", c) for c in contacts),  # type: ignore[misc]
                open_deals=self._deals(conn, DealRow.company_id == company_id),
                recent_activities=self._activities(conn, ActivityRow.company_id == company_id),
                open_tickets=self._tickets(conn, TicketRow.company_id == company_id),
            )

    def get_deal(self, deal_id: int) -> DealDetail | None:
        with self._reader.connect() as conn:
            row = _get(conn, DealRow, deal_id)
            if row is None:
                return None
            company = _get(conn, CompanyRow, row.company_id)
            contact = _get(conn, ContactRow, row.contact_id) if row.contact_id else None
            return DealDetail(
                deal=to_record("deal", row),  # type: ignore[arg-type]
                company=to_record("company", company) if company else None,  # type: ignore[arg-type]
                contact=to_record("contact", contact) if contact else None,  # type: ignore[arg-type]
                recent_activities=self._activities(conn, ActivityRow.deal_id == deal_id),
            )

    @staticmethod
    def _deals(conn: Connection, condition: Any) -> tuple[Deal, ...]:
        rows = conn.execute(
            select(DealRow).where(condition, DealRow.stage.in_(OPEN_DEAL_STAGES)).order_by(DealRow.close_date, DealRow.id)
        ).all()
        return tuple(to_record("deal", r) for r in rows)  # type: ignore[misc]

    @staticmethod
    def _activities(conn: Connection, condition: Any) -> tuple[Activity, ...]:
        rows = conn.execute(
            select(ActivityRow).where(condition)
            .order_by(ActivityRow.occurred_at.desc(), ActivityRow.id.desc()).limit(RECENT_ACTIVITIES)
        ).all()
        return tuple(to_record("activity", r) for r in rows)  # type: ignore[misc]

    @staticmethod
    def _tickets(conn: Connection, condition: Any) -> tuple[Ticket, ...]:
        rows = conn.execute(
            select(TicketRow).where(condition, TicketRow.status.in_(OPEN_TICKET_STATUSES)).order_by(TicketRow.id)
        ).all()
        return tuple(to_record("ticket", r) for r in rows)  # type: ignore[misc]

    # -- lists --------------------------------------------------------------------------------

    def list_deals(self, filters: DealFilter, *, limit: int = 50) -> list[Deal]:
        query = _deal_conditions(select(DealRow), filters)
        query = query.order_by(DealRow.close_date, DealRow.id).limit(_clamp(limit))
        return self._all("deal", query)  # type: ignore[return-value]

    def count_deals(self, filters: DealFilter) -> int:
        with self._reader.connect() as conn:
            return int(conn.scalar(_deal_conditions(select(func.count()).select_from(DealRow), filters)) or 0)

    def deal_totals(self, filters: DealFilter) -> list[StageTotal]:
        query = _deal_conditions(
            select(DealRow.stage, DealRow.currency, func.count(), func.coalesce(func.sum(DealRow.amount), 0)),
            filters,
        ).group_by(DealRow.stage, DealRow.currency)
        with self._reader.connect() as conn:
            rows = conn.execute(query).all()
        order = {stage: i for i, stage in enumerate(DEAL_STAGES)}
        totals = [StageTotal(stage, currency, int(n), Decimal(amount)) for stage, currency, n, amount in rows]
        return sorted(totals, key=lambda t: (order.get(t.stage, len(order)), t.currency))

    def list_contacts(self, filters: ContactFilter, *, limit: int = 50) -> list[Contact]:
        query = select(ContactRow)
        if filters.lifecycle_stages:
            query = query.where(ContactRow.lifecycle_stage.in_(filters.lifecycle_stages))
        if filters.owners is not None:
            query = query.where(ContactRow.owner.in_(filters.owners))
        if filters.created_since:
            query = query.where(ContactRow.created_at >= filters.created_since)
        query = query.order_by(ContactRow.created_at.desc(), ContactRow.id.desc()).limit(_clamp(limit))
        return self._all("contact", query)  # type: ignore[return-value]

    def list_activities(self, filters: ActivityFilter, *, limit: int = 50) -> list[Activity]:
        query = select(ActivityRow)
        for column, value in (
            (ActivityRow.company_id, filters.company_id),
            (ActivityRow.contact_id, filters.contact_id),
            (ActivityRow.deal_id, filters.deal_id),
        ):
            if value:
                query = query.where(column == value)
        for column, values in ((ActivityRow.company_id, filters.company_ids),
                               (ActivityRow.contact_id, filters.contact_ids)):
            if values is not None:
                query = query.where(column.in_(values))
        if filters.kinds:
            query = query.where(ActivityRow.kind.in_(filters.kinds))
        if filters.since:
            query = query.where(ActivityRow.occurred_at >= filters.since)
        query = query.order_by(ActivityRow.occurred_at.desc(), ActivityRow.id.desc()).limit(_clamp(limit))
        return self._all("activity", query)  # type: ignore[return-value]

    def list_tickets(self, filters: TicketFilter, *, limit: int = 50) -> list[Ticket]:
        query = select(TicketRow)
        if filters.statuses:
            query = query.where(TicketRow.status.in_(filters.statuses))
        if filters.priorities:
            query = query.where(TicketRow.priority.in_(filters.priorities))
        if filters.company_id:
            query = query.where(TicketRow.company_id == filters.company_id)
        if filters.company_ids is not None:
            query = query.where(TicketRow.company_id.in_(filters.company_ids))
        if filters.sla_breached_at:
            query = query.where(TicketRow.sla_due_at < filters.sla_breached_at)
        query = query.order_by(TicketRow.sla_due_at, TicketRow.id).limit(_clamp(limit))
        return self._all("ticket", query)  # type: ignore[return-value]

    def _all(self, kind: RecordKind, query: Any) -> Sequence[Record]:
        with self._reader.connect() as conn:
            return [to_record(kind, r) for r in conn.execute(query).all()]

    # -- writes -------------------------------------------------------------------------------

    def create(self, kind: RecordKind, fields: Mapping[str, Any], *, idempotency_key: str) -> WriteResult:
        return self._writer.create(kind, fields, idempotency_key=idempotency_key)

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
        return self._writer.update(
            kind, record_id, changes, expected_version=expected_version, idempotency_key=idempotency_key,
            basis=basis,
        )


def _deal_conditions(query: Any, filters: DealFilter) -> Any:
    """The WHERE clauses of a DealFilter, shared by lists, counts and totals."""
    if filters.stages:
        query = query.where(DealRow.stage.in_(filters.stages))
    if filters.open_only:
        query = query.where(DealRow.stage.in_(OPEN_DEAL_STAGES))
    if filters.owner:
        query = query.where(DealRow.owner == filters.owner)
    if filters.owners is not None:
        owned = DealRow.owner.in_(filters.owners)
        query = query.where(or_(owned, DealRow.owner.is_(None)) if filters.unowned else owned)
    if filters.company_id:
        query = query.where(DealRow.company_id == filters.company_id)
    if filters.company_ids is not None:
        query = query.where(DealRow.company_id.in_(filters.company_ids))
    if filters.closing_from:
        query = query.where(DealRow.close_date >= filters.closing_from)
    if filters.closing_to:
        query = query.where(DealRow.close_date <= filters.closing_to)
    if filters.no_activity_since:
        query = query.where(
            or_(DealRow.last_activity_at < filters.no_activity_since, DealRow.last_activity_at.is_(None)),
            DealRow.created_at < filters.no_activity_since,
        )
    if filters.created_since:
        query = query.where(DealRow.created_at >= filters.created_since)
    if filters.stage_changed_since:
        query = query.where(DealRow.stage_changed_at >= filters.stage_changed_since)
    return query


def _get(conn: Connection, model: Any, record_id: int) -> Any:
    return conn.execute(select(model).where(model.id == record_id)).first()


def _clamp(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))

