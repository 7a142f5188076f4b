"""Delivery of outbox messages over SMTP (transport = "smtp")."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage as MimeMessage

from adapters.email.base import EmailError, EmailMessage


class SmtpDelivery:
    """Hands one message to an SMTP server; used by OutboxSender as its deliver step."""

    def __init__(self, host: str, port: int, *, starttls: bool, username: str, password: str | None,
                 timeout: float) -> None:
        self._host, self._port, self._starttls = host, port, starttls
        self._username, self._password, self._timeout = username, password, timeout

    def __call__(self, message: EmailMessage) -> None:
        try:
            mime = MimeMessage()
            mime["From"], mime["To"], mime["Subject"] = message.sender, message.to, message.subject
            mime.set_content(message.body)
        except ValueError as exc:  # e.g. a line break in the subject; nothing was sent
            raise EmailError(f"the message cannot be sent as it is: {exc}", transient=False) from None
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(mime)
        except smtplib.SMTPRecipientsRefused:
            raise EmailError("the mail server refused the recipient address", transient=False) from None
        except smtplib.SMTPAuthenticationError:
            raise EmailError("the mail server refused the login; check email.smtp_username and SMTP_PASSWORD",
                             transient=False) from None
        except (smtplib.SMTPException, OSError) as exc:  # OSError covers refused connections and timeouts
            raise EmailError(f"the mail server could not be reached or failed ({type(exc).__name__})",
                             transient=True) from None
