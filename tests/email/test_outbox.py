"""The e-mail outbox (adapters/email/outbox.py): one row per idempotency key, sent at most once."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from adapters.email.base import EmailError, EmailMessage
from adapters.email.outbox import EmailOutboxRow, OutboxSender
from adapters.email.smtp import SmtpDelivery

MESSAGE = EmailMessage("bot@example.org", "zoe@example.org", "Renewal", "Hello")


def rows(engine: Engine) -> list[tuple[str, str, str | None]]:
    with Session(engine) as session:
        return [(r.idempotency_key, r.status, r.error) for r in session.scalars(select(EmailOutboxRow))]


class Delivery:
    """A deliver step that records messages and fails as told."""

    def __init__(self, *failures: EmailError) -> None:
        self.sent: list[EmailMessage] = []
        self._failures = list(failures)

    def __call__(self, message: EmailMessage) -> None:
        if self._failures:
            raise self._failures.pop(0)
        self.sent.append(message)


def test_queued_once_per_key(engine: Engine) -> None:
    outbox = OutboxSender(engine)
    first = outbox.send(MESSAGE, idempotency_key="p1")
    again = outbox.send(MESSAGE, idempotency_key="p1")
    assert (first.status, first.replayed) == ("queued", False)
    assert (again.outbox_id, again.status, again.replayed) == (first.outbox_id, "queued", True)
    assert rows(engine) == [("p1", "queued", None)]


def test_delivered_once_per_key(engine: Engine) -> None:
    delivery = Delivery()
    outbox = OutboxSender(engine, deliver=delivery)
    assert outbox.send(MESSAGE, idempotency_key="p1").status == "sent"
    assert outbox.send(MESSAGE, idempotency_key="p1").replayed
    assert delivery.sent == [MESSAGE] and rows(engine) == [("p1", "sent", None)]


def test_a_transient_failure_can_be_retried_with_the_same_key(engine: Engine) -> None:
    delivery = Delivery(EmailError("server unreachable", transient=True))
    outbox = OutboxSender(engine, deliver=delivery)
    with pytest.raises(EmailError) as err:
        outbox.send(MESSAGE, idempotency_key="p1")
    assert err.value.transient
    assert outbox.send(MESSAGE, idempotency_key="p1").status == "sent"
    assert delivery.sent == [MESSAGE] and rows(engine) == [("p1", "sent", None)]


def test_a_permanent_failure_is_kept_and_not_retried(engine: Engine) -> None:
    delivery = Delivery(EmailError("recipient refused", transient=False))
    outbox = OutboxSender(engine, deliver=delivery)
    with pytest.raises(EmailError):
        outbox.send(MESSAGE, idempotency_key="p1")
    with pytest.raises(EmailError, match="failed earlier: recipient refused") as err:
        outbox.send(MESSAGE, idempotency_key="p1")
    assert not err.value.transient and delivery.sent == []
    assert rows(engine) == [("p1", "failed", "recipient refused")]


def test_an_interrupted_send_is_never_repeated(engine: Engine) -> None:
    # The process died after the row was written and before the outcome was: it may have gone out.
    def crash(message: EmailMessage) -> None:
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        OutboxSender(engine, deliver=crash).send(MESSAGE, idempotency_key="p1")
    delivery = Delivery()
    with pytest.raises(EmailError, match="may or may not have been sent") as err:
        OutboxSender(engine, deliver=delivery).send(MESSAGE, idempotency_key="p1")
    assert not err.value.transient and delivery.sent == []


def test_smtp_refuses_a_header_with_a_line_break_before_connecting() -> None:
    # Port 9 on loopback: were a connection attempted, the error would be a transient one.
    smtp = SmtpDelivery("127.0.0.1", 9, starttls=False, username="", password=None, timeout=1)
    with pytest.raises(EmailError, match="cannot be sent as it is") as err:
        smtp(EmailMessage("bot@example.org", "zoe@example.org", "Renewal\nBcc: everyone@example.org", "Hi"))
    assert not err.value.transient
