"""Free-text search over contacts and companies: what is indexed and how a query is read.

Names go into the heavily weighted first column; e-mail, phone, title and company into the
second. Phone numbers are also indexed as digit strings and their suffixes of six or more
digits, so "020 7946 0958", "+44 20 7946 0958" and "79460958" all find the same contact.
"""

from __future__ import annotations

from collections.abc import Iterable

from adapters.fulltext import FtsIndex, fold, words

CONTACT_INDEX = FtsIndex("crm_contact_fts", ("name", "other"), (10.0, 1.0))
COMPANY_INDEX = FtsIndex("crm_company_fts", ("name", "other"), (10.0, 1.0))
INDEXES = (CONTACT_INDEX, COMPANY_INDEX)

_MIN_SUFFIX = 6


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def phone_terms(phone: str | None) -> list[str]:
    """The digit string of a phone number and its suffixes (at least six digits long)."""
    digits = _digits(phone or "")
    if len(digits) < _MIN_SUFFIX:
        return []
    return [digits[i:] for i in range(0, len(digits) - _MIN_SUFFIX + 1)]


def contact_document(
    first_name: str,
    last_name: str,
    aliases: Iterable[str],
    email: str | None,
    phone: str | None,
    title: str | None,
    company_name: str | None,
) -> tuple[str, str]:
    """The (name, other) texts indexed for a contact."""
    name = fold(" ".join([first_name, last_name, *aliases]))
    other = " ".join(
        [fold(email or ""), fold(phone or ""), *phone_terms(phone), fold(title or ""), fold(company_name or "")]
    )
    return name, " ".join(other.split())


def company_document(
    name: str, domain: str | None, industry: str | None, country: str | None, phone: str | None
) -> tuple[str, str]:
    """The (name, other) texts indexed for a company."""
    other = " ".join(
        [fold(domain or ""), fold(industry or ""), fold(country or ""), fold(phone or ""), *phone_terms(phone)]
    )
    return fold(name), " ".join(other.split())


def query_terms(text: str) -> list[str]:
    """Terms of a free-text query; a query that is mostly a phone number becomes one term."""
    digits = _digits(text)
    letters = sum(ch.isalpha() for ch in text)
    if len(digits) >= _MIN_SUFFIX and letters == 0:
        # A trunk prefix (0) or an international prefix (00) is not part of the stored suffixes.
        return [digits.lstrip("0") or digits]
    return words(text)
