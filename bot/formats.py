"""How amounts and dates read wherever people see them: digests, cards, answers.

One function per kind of value, so a deal's amount reads the same in a digest line and on the
card that changes it ("24,000 GBP", never "24000.00").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation


def money(amount: Decimal | int | float | str, currency: str | None = None) -> str:
    """`24,000 GBP`: thousands separators, cents only when there are any, the currency code after."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}".strip() if currency else str(amount)
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{text} {currency}" if currency else text


def day(value: date | str) -> str:
    """`Tue 26 Jan 2027`: a calendar date, the same in every time zone."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return f"{value:%a} {value.day} {value:%b %Y}"
