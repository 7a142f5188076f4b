"""The e-mail adapter protocol: one message, sent at most once per idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EmailMessage:
    sender: str
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class SendResult:
    """outbox_id names the stored message; replayed is True when the key had been used before."""

    outbox_id: int
    status: str
    replayed: bool = False


class EmailError(Exception):
    """Sending failed; transient is True when trying again later may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class EmailSender(Protocol):
    def send(self, message: EmailMessage, *, idempotency_key: str) -> SendResult:
        """Send (or queue) message once; a repeated key returns the first result and sends nothing."""
        ...

    def status(self, outbox_id: int) -> str | None:
        """Where a message sent earlier stands now (queued, sending, sent, failed); None if unknown."""
        ...
