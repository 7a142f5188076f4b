"""The Edit form of a proposal: one real input per field, and what its submission means.

Each field gets the input a person expects: a date picker for a date, a date-and-time picker for
a time (Slack shows it in the editor's own time zone and sends a UNIX time), a list for a stage,
a kind, a priority or a currency, a person picker for an owner, a search for a related record
(options served by the `record` options listener, limited to what the editor may see), a number
input for amounts. Every input is optional and prefilled, so what the editor leaves alone is no
change. A submission is read back into the proposal's argument forms (`changed_fields`) and
checked field by field (`problems`), each message saying the expected form. Pure functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from bot.records import ProposalView
from bot.slack.blocks import describe
from bot.slack.blocks.describe import LABELS, REFS, Facts
from bot.slack.mrkdwn import escape_fit, truncate

EDIT_VIEW = "proposal_edit_view"
VALUE = "value"  # the action_id of every input but the record searches
RECORD = "record"  # the action_id of a record search (external_select); its block_id names the field
PREFILL_CHARS = 3000  # Slack's limit on a text input's initial value
CURRENCIES = ("EUR", "GBP", "USD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD", "JPY")
Kind = Literal["text", "long", "choice", "currency", "date", "datetime", "record", "user", "amount", "number",
               "email"]
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$")


@dataclass(frozen=True)
class FormField:
    """One editable argument: its name, the input it gets, and the values it may take (for lists)."""

    name: str
    kind: Kind = "text"
    choices: tuple[str, ...] = ()


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(truncate(label, 75)), "value": value[:150]}


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# -- the form ---------------------------------------------------------------------------------------


def edit_modal(proposal: ProposalView, fields: Sequence[FormField], facts: Facts | None = None) -> dict[str, Any]:
    """The Edit modal: what the proposal does, then one prefilled input per editable field."""
    facts = facts or Facts()
    intro = f"*{escape_fit(describe.title(proposal, facts), 300)}*\nChange what you need; the rest stays as proposed."
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": intro}}]
    # What the proposal sets comes first: that is what the editor came to change.
    for field in sorted(fields, key=lambda f: f.name not in proposal.args)[:90]:
        block: dict[str, Any] = {"type": "input", "block_id": field.name, "optional": True,
                                 "label": _plain(LABELS.get(field.name, describe.choice(field.name))),
                                 "element": _element(field, proposal, facts)}
        hint = _hint(field, proposal, facts)
        if hint:
            block["hint"] = _plain(truncate(hint, 2000))
        blocks.append(block)
    return {"type": "modal", "callback_id": EDIT_VIEW, "private_metadata": proposal.id,
            "title": _plain("Edit proposal"), "submit": _plain("Save as new"), "close": _plain("Cancel"),
            "blocks": blocks}


def _element(field: FormField, proposal: ProposalView, facts: Facts) -> dict[str, Any]:
    current = proposal.args.get(field.name)
    if field.kind in ("choice", "currency"):
        values = list(field.choices)
        if isinstance(current, str) and current and current not in values:
            values.append(current)
        label = describe.choice if field.kind == "choice" else str
        element: dict[str, Any] = {"type": "static_select", "action_id": VALUE, "placeholder": _plain("Choose…"),
                                   "options": [_option(label(v), v) for v in values][:100]}
        if current in values:
            element["initial_option"] = _option(label(current), current)
        return element
    if field.kind == "date":
        element = {"type": "datepicker", "action_id": VALUE, "placeholder": _plain("Pick a date")}
        if isinstance(current, str) and _date(current) is not None:
            element["initial_date"] = current[:10]
        return element
    if field.kind == "datetime":
        element = {"type": "datetimepicker", "action_id": VALUE}
        at = _moment(current)
        if at is not None:
            element["initial_date_time"] = int(at.timestamp())
        return element
    if field.kind == "record":
        kind = REFS.get(field.name, "record")
        element = {"type": "external_select", "action_id": RECORD, "min_query_length": 0,
                   "placeholder": _plain(f"Search {kind}s by name…")}
        if current not in (None, ""):
            element["initial_option"] = _option(describe.record_name(kind, current, facts), str(current))
        return element
    if field.kind == "user":
        return {"type": "users_select", "action_id": VALUE, "placeholder": _plain("Choose a person")}
    if field.kind in ("amount", "number"):
        element = {"type": "number_input", "action_id": VALUE, "is_decimal_allowed": field.kind == "amount",
                   "min_value": "0"}
        if current not in (None, ""):
            element["initial_value"] = str(current)
        return element
    element = {"type": "plain_text_input", "action_id": VALUE, "multiline": field.kind == "long"}
    if _text(current):
        element["initial_value"] = truncate(_text(current), PREFILL_CHARS)
    return element


def _hint(field: FormField, proposal: ProposalView, facts: Facts) -> str:
    """What the editor needs to fill the field in: the form expected, and for a field the update
    leaves alone, its value on the record now."""
    proposed = proposal.args.get(field.name)
    now = facts.current.get(field.name) if field.name not in proposal.args else None
    said = (f"Now: {describe.value_text(field.name, now, proposal, facts, mrkdwn=False)}. Leave empty to keep it. "
            if now not in (None, "") and field.kind != "long" else "")
    if field.kind == "user":
        if proposed:
            said = f"Proposed: {describe.owner_name(proposed, facts)}. "
        return said + "The owner needs a CRM user with the same e-mail."
    if field.kind == "amount":
        currency = describe.deal_currency(proposal, facts) or (facts.current.get("currency") or None)
        return said + (f"In {currency}, e.g. 24000 or 24000.50" if currency else "e.g. 24000 or 24000.50")
    if field.kind == "datetime":
        return said + "In your own time zone."
    return said.strip()


def record_option(record_id: int, label: str) -> dict[str, Any]:
    """One result of a record search, as an option of the search's list."""
    return _option(label, str(record_id))


# -- reading a submission back ------------------------------------------------------------------------


def submitted(values: Mapping[str, Any]) -> dict[str, Any]:
    """A view_submission's state.values as {block_id: value or None}, whatever the input: the text
    of a text or number input, a picked date ("2026-12-31"), time ("09:30"), date and time (UNIX
    seconds), option's value or user id."""
    out: dict[str, Any] = {}
    for block_id, actions in values.items():
        action = next(iter(actions.values()), None) if isinstance(actions, Mapping) and actions else None
        if not isinstance(action, Mapping):
            continue
        if "selected_option" in action:
            value = (action.get("selected_option") or {}).get("value")
        else:
            key = next((k for k in ("selected_user", "selected_date_time", "selected_date", "selected_time")
                        if k in action), "value")
            value = action.get(key)
        if isinstance(value, str):
            value = value.strip() or None
        out[block_id] = value
    return out


def changed_fields(proposal: ProposalView, values: Mapping[str, Any],
                   fields: Sequence[FormField] = ()) -> dict[str, Any]:
    """The inputs that differ from what the proposal holds, in the arguments' forms (a record's id
    as a number, a time as ISO 8601 UTC); an empty input leaves its field as it is. An input left as
    the form filled it in is no change, also when the form could show only the start of a long value
    (an e-mail body): the stored value is kept whole. A person picked for an owner is returned as
    their Slack user id, for the caller to map to a CRM owner."""
    kinds = {f.name: f.kind for f in fields}
    changed: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        current, kind = proposal.args.get(name), kinds.get(name, "text")
        if not _same(kind, value, current):
            changed[name] = _argument(kind, value)
    return changed


def _same(kind: str, value: Any, current: Any) -> bool:
    if current is None:
        return False
    if kind == "datetime":
        return _moment(value) is not None and _moment(value) == _moment(current)
    if kind in ("amount", "number", "record"):
        return _decimal(value) is not None and _decimal(value) == _decimal(current)
    if kind == "user":
        return False  # a Slack user is never the CRM owner id the proposal holds
    text = _text(current)
    return str(value) in (text, truncate(text, PREFILL_CHARS).strip())


def _argument(kind: str, value: Any) -> Any:
    if kind == "datetime" and (at := _moment(value)) is not None:
        return at.isoformat()
    if kind == "record" and str(value).isdigit():
        return int(value)
    return value


def problems(fields: Sequence[FormField], changes: Mapping[str, Any]) -> dict[str, str]:
    """{field: what is wrong and the form expected}, for the changed fields that cannot be right."""
    found: dict[str, str] = {}
    for field in fields:
        if field.name not in changes:
            continue
        message = _problem(field, changes[field.name])
        if message:
            found[field.name] = message
    return found


def _problem(field: FormField, value: Any) -> str | None:
    kind, text = field.kind, str(value)
    if kind == "amount":
        number = _decimal(value)
        if number is None or number < 0 or number.as_tuple().exponent < -2:  # type: ignore[operator]
            return "Enter an amount of 0 or more, with at most two decimals, such as 24000 or 24000.50."
    elif kind == "number":
        if not text.isdigit():
            return "Enter a whole number of 0 or more, such as 250."
    elif kind == "date":
        if _date(text) is None:
            return "Pick a date from the calendar (or type it as 2026-12-31)."
    elif kind == "datetime":
        if _moment(value) is None:
            return "Pick a date and a time."
    elif kind == "record":
        if not text.isdigit():
            return f"Choose a {REFS.get(field.name, 'record')} from the list (type part of its name to search)."
    elif kind in ("choice", "currency"):
        if field.choices and text not in field.choices and not (kind == "currency" and re.fullmatch("[A-Z]{3}", text)):
            shown = ", ".join(describe.choice(c) if kind == "choice" else c for c in field.choices)
            return f"Choose one of: {shown}."
    elif kind == "email":
        if not _EMAIL.match(text):
            return "Enter an e-mail address such as name@example.com."
    return None


def field_error(message: str, changes: Mapping[str, Any], offered: Sequence[str]) -> tuple[str, str]:
    """(field, message) for a problem the planner found: the field it names (else the first changed
    one), and the message in the form's words (the form's own checks catch the raw cases first)."""
    text = re.sub(r"^invalid arguments for \w+: ", "", message)
    missing = re.match(r"(company|contact|deal) \d+ does not exist", text)
    if missing and f"{missing.group(1)}_id" in offered:
        return f"{missing.group(1)}_id", f"Choose another {missing.group(1)}: that one is not there, or not yours to see."
    named, colon, rest = text.partition(": ")
    names = [n.strip() for n in named.split(",")] if colon else []
    field = next((n for n in names if n in offered or n in changes), None)
    said = rest if field else text
    field = field or next((n for n in [*changes, *offered] if re.search(rf"\b{re.escape(n)}\b", text)), None)
    field = field or next(iter(changes), offered[0] if offered else "")
    said = re.sub(r"\b(\w+)_id\b", r"\1", said)
    return field, (said[:1].upper() + said[1:]).rstrip(".")[:140] + "."


# -- values -------------------------------------------------------------------------------------------


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _moment(value: Any) -> datetime | None:
    """A UNIX time (as Slack's datetimepicker sends it) or ISO 8601 text, as an aware UTC time."""
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(int(value), timezone.utc)
        at = datetime.fromisoformat(str(value))
    except (ValueError, OverflowError, OSError):
        return None
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None
