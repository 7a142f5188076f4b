"""E-mail through the outbox table: the default transport, and the ledger SMTP sending uses.

Every message is a row keyed by its idempotency key (the proposal id), so a repeated approval,
a retry or a recovery after a crash finds the row and never sends twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Engine, Text, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from adapters.email.base import EmailError, EmailMessage, SendResult


def _now() -> datetime:
    return datetime.now(timezone.utc)


class EmailOutboxRow(SQLModel, table=True):
    """A message to send: queued (outbox transport), sending, sent or failed (SMTP transport)."""

    __tablename__ = "email_outbox"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=64, unique=True)
    sender: str = Field(max_length=254)
    to: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
    status: str = Field(default="queued", max_length=16)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=_now)
    sent_at: datetime | None = None


class OutboxSender:
    """Queues messages in the email_outbox table (another system, or an operator, delivers them)."""

    def __init__(self, engine: Engine, *, deliver: Callable[[EmailMessage], None] | None = None) -> None:
        self._engine = engine
        self._deliver = deliver

    def send(self, message: EmailMessage, *, idempotency_key: str) -> SendResult:
        try:
            with Session(self._engine) as session, session.begin():
                row = EmailOutboxRow(idempotency_key=idempotency_key, sender=message.sender, to=message.to,
                                     subject=message.subject, body=message.body,
                                     status="queued" if self._deliver is None else "sending")
                session.add(row)
                session.flush()
                outbox_id = row.id or 0
        except IntegrityError:  # the key was used before: a retry, a recovery or a concurrent call
            existing = self._find(idempotency_key)
            if existing is None:
                raise
            return self._replay(existing)
        if self._deliver is None:
            return SendResult(outbox_id, "queued")
        try:
            self._deliver(message)
        except EmailError as exc:
            if exc.transient:
                # Not sent, and worth another try: free the key so that retrying the same
                # proposal sends it, instead of finding a row that refuses forever.
                self._forget(outbox_id)
            else:
                self._mark(outbox_id, "failed", str(exc))
            raise
        self._mark(outbox_id, "sent", None)
        return SendResult(outbox_id, "sent")

    def status(self, outbox_id: int) -> str | None:
        """The message's status now: whoever delivers queued messages marks them sent (or failed)."""
        with Session(self._engine) as session:
            row = session.get(EmailOutboxRow, outbox_id)
            return row.status if row is not None else None

    def _find(self, key: str) -> EmailOutboxRow | None:
        with Session(self._engine) as session:
            return session.scalars(select(EmailOutboxRow).where(EmailOutboxRow.idempotency_key == key)).first()

    @staticmethod
    def _replay(row: EmailOutboxRow) -> SendResult:
        if row.status == "sending":
            # A crash between handing the message to the server and recording it: it may or may
            # not have gone out. Sending again could send it twice, so a person must check.
            raise EmailError(f"e-mail {row.id} may or may not have been sent (interrupted); check the mail server",
                             transient=False)
        if row.status == "failed":
            raise EmailError(f"e-mail {row.id} failed earlier: {row.error}", transient=False)
        return SendResult(row.id or 0, row.status, replayed=True)

    def _forget(self, outbox_id: int) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(delete(EmailOutboxRow).where(EmailOutboxRow.id == outbox_id))  # type: ignore[arg-type]

    def _mark(self, outbox_id: int, status: str, error: str | None) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(update(EmailOutboxRow).where(EmailOutboxRow.id == outbox_id)  # type: ignore[arg-type]
                            .values(status=status, error=error, sent_at=_now() if status == "sent" else None))
