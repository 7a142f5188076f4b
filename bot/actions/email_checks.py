"""What an approver must be told about an e-mail before sending it, found when it is planned.

Two findings, stored as extra `diff` entries with field "warning" (the card lists them, and
nothing executes from the diff): personal data in the body that is not the recipient contact's
own nor the sender's address (e-mail addresses, phone numbers, and names of other CRM contacts
when the wiring passes the privacy layer's known-entity index in), and a recipient the CRM does
not know, neither as a contact's address nor at a company's domain. An unknown recipient is
marked with `kind: "unknown_recipient"`, which the approval service reads to require the managers
group whatever the policy says. Addresses and phones are found with plain patterns, not a
language model: they look for what a person would check by eye, and err on the side of listing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from adapters.crm.base import Contact, CrmAdapter

# The CRM's known values found in a text, as (entity type, the text found, "kind:id" of their record):
# the privacy layer's known-entity index, passed in by the wiring (this layer never imports Presidio).
KnownFinder = Callable[[str], Sequence[tuple[str, str, str]]]

WARNING = "warning"
UNKNOWN_RECIPIENT = "unknown_recipient"
PERSONAL_DATA = "personal_data"
MANAGERS = "managers"  # the group that alone approves an e-mail to an unknown recipient
_MAX_LISTED = 10  # findings listed one by one; more are counted

# Any syntactically plausible address: dotted local part, a domain of labels with a letter TLD
# (internal ones too: .local, .corp, .lan), so nothing is missed for an unknown TLD.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+%-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\b")
# A run of digits with the separators people type in phone numbers; its digits are counted below.
_DIGIT_RUN = re.compile(r"(?<![\w/])(?<!\w-)\+?\(?\d[\d .\-/_·()\u2010-\u2015]*\d(?![\w/])")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_MIN_PHONE_DIGITS, _MAX_PHONE_DIGITS = 7, 15


def find_emails(text: str) -> list[str]:
    """Every e-mail address in text, in order, without repeats."""
    return list(dict.fromkeys(m.group(0).rstrip(".") for m in _EMAIL.finditer(text)))


def find_phones(text: str) -> list[str]:
    """Every phone-like number in text (7 to 15 digits, not a date), in order, without repeats."""
    found: list[str] = []
    for match in _DIGIT_RUN.finditer(_EMAIL.sub(" ", text)):
        number = match.group(0).strip(" .-_·")
        if number.count("(") != number.count(")"):  # a bracket of the sentence, not of the number
            number = number.strip("()")
        digits = _digits(number)
        if _MIN_PHONE_DIGITS <= len(digits) <= _MAX_PHONE_DIGITS and not _DATE.fullmatch(number):
            found.append(number)
    return list(dict.fromkeys(found))


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _same_phone(a: str, b: str) -> bool:
    """Equal national significant numbers: the last nine digits, so +33 1 43 and 01 43 compare equal."""
    da, db = _digits(a), _digits(b)
    return bool(da and db) and da[-9:] == db[-9:]


def _domain_known(crm: CrmAdapter, domain: str) -> bool:
    """The domain, or a parent of it (mail.acme.com -> acme.com), is a company's domain."""
    labels = domain.lower().split(".")
    return any(crm.find("company", "domain", ".".join(labels[i:])) is not None for i in range(len(labels) - 1))


def other_people(find_known: KnownFinder | None, body: str, recipient: Contact | None) -> list[str]:
    """Names of CRM contacts other than the recipient found in the body, the longest form of each."""
    if find_known is None:
        return []
    own = f"contact:{recipient.id}" if recipient else None
    names: dict[str, str] = {}
    for entity_type, text, ref in find_known(body):
        if entity_type == "PERSON" and ref.startswith("contact:") and ref != own and len(text) > len(names.get(ref, "")):
            names[ref] = " ".join(text.split())
    return list(dict.fromkeys(names.values()))


def email_warnings(crm: CrmAdapter, *, to: str, body: str, contact_id: int | None, sender: str,
                   find_known: KnownFinder | None = None) -> tuple[dict[str, Any], ...]:
    """The warning entries for an e-mail to `to` (for the contact `contact_id`, when given); names of
    other contacts are looked for only when a `find_known` is given."""
    contact = crm.get("contact", contact_id) if contact_id else None
    by_address = crm.find("contact", "email", to)
    if not isinstance(contact, Contact):
        contact = by_address if isinstance(by_address, Contact) else None
    warnings: list[dict[str, Any]] = []
    domain = to.rpartition("@")[2]
    if by_address is None and not _domain_known(crm, domain):
        warnings.append(_warning(UNKNOWN_RECIPIENT, f"recipient not in the CRM: {to} is no contact's address "
                                                    f"and {domain} no company's domain"))
    own_emails = {a.lower() for a in (to, sender, contact.email if contact else None) if a}
    others = [e for e in find_emails(body) if e.lower() not in own_emails]
    phones = [p for p in find_phones(body) if not (contact and contact.phone and _same_phone(p, contact.phone))]
    names = other_people(find_known, body, contact)
    if names or others or phones:
        whose = "the recipient contact" if contact else "a recipient contact"
        warnings.append(_warning(PERSONAL_DATA, f"the body holds personal data that is not {whose}'s: "
                                                f"{_listed(names + others + phones)}"))
    return tuple(warnings)


def _listed(values: Sequence[str]) -> str:
    shown = ", ".join(values[:_MAX_LISTED])
    return shown + (f" and {len(values) - _MAX_LISTED} more" if len(values) > _MAX_LISTED else "")


def _warning(kind: str, text: str) -> dict[str, Any]:
    return {"field": WARNING, "before": None, "after": text, "kind": kind}


def unknown_recipient(diff: Sequence[dict[str, Any]]) -> bool:
    """True if a planned e-mail's diff says its recipient is not in the CRM."""
    return any(d.get("field") == WARNING and d.get("kind") == UNKNOWN_RECIPIENT for d in diff)
