"""A proposal in the words of the people who decide on it: a title a person would write, each
field by its label with its value as people read it, why it has its risk, who may approve it.

Never a tool name, a column name or a raw id: records by their names (linked, see links.py),
owners by their CRM names, amounts with their currency as the digests print them
(bot.formats.money), calendar dates as dates, times as Slack's date tokens (each reader sees
their own time zone; the fallback text is in the workspace's). What is only bookkeeping of a
create (an activity's kind and done flag, a lead's lifecycle stage) is said by the title, not
listed. Pure functions of the proposal and the `Facts` read for it before drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from bot.formats import day, money
from bot.records import ProposalView
from bot.slack.blocks.links import Links
from bot.slack.mrkdwn import escape, truncate

LABELS = {
    "name": "Name", "stage": "Stage", "amount": "Amount", "currency": "Currency", "close_date": "Close date",
    "owner": "Owner", "company_id": "Company", "contact_id": "Contact", "deal_id": "Deal",
    "first_name": "First name", "last_name": "Last name", "email": "E-mail", "phone": "Phone",
    "title": "Job title", "lifecycle_stage": "Lifecycle stage", "lead_source": "Lead source",
    "domain": "Web domain", "industry": "Industry", "employees": "Employees", "country": "Country",
    "subject": "Subject", "body": "Notes", "occurred_at": "When", "due_date": "Due", "due_at": "Due",
    "priority": "Priority", "kind": "Type", "to": "To", "status": "Status",
}
REFS = {"deal_id": "deal", "contact_id": "contact", "company_id": "company"}
CHOICES = ("stage", "lifecycle_stage", "priority", "kind", "status")  # fields holding one of a few words
DATES = ("close_date", "due_date")
TIMES = ("occurred_at", "due_at")
LONG = ("body", "description", "notes")
_HIDDEN = {"done", "kind", "warning", "due_at"}  # bookkeeping of a create: said by the title
_RISK = {"low": "🟢 Low risk", "medium": "🟡 Medium risk", "high": "🔴 High risk"}
_KIND = {"company": "Company", "contact": "Contact", "deal": "Deal", "activity": "Activity", "ticket": "Ticket"}
_ACTIVITY = {"call": "Log a call", "meeting": "Log a meeting", "email": "Log an e-mail", "note": "Add a note"}
_MAX_ROWS = 25


@dataclass(frozen=True)
class Facts:
    """What a card says besides the proposal, read just before drawing it. Empty by default, so a
    card can always be drawn; what is missing is then described, not shown as an id."""

    links: Links = Links()
    owners: Mapping[str, str] = field(default_factory=dict)  # CRM owner id -> name
    records: Mapping[tuple[str, int], str] = field(default_factory=dict)  # (kind, id) -> name
    currencies: Mapping[int, str] = field(default_factory=dict)  # deal id -> its currency
    rule: tuple[tuple[str, ...], bool] | None = None  # approval rules of the risk, requester may approve alone
    replaced: ProposalView | None = None  # the version an edit replaced
    timezone: str = "UTC"  # for fallback texts; Slack shows each reader their own time zone
    current: Mapping[str, Any] = field(default_factory=dict)  # an updated record's fields now (form hints)


# -- names ----------------------------------------------------------------------------------------


def record_name(kind: str, record_id: Any, facts: Facts) -> str:
    """A record's name; "the <kind>" when it could not be read (never its id)."""
    return facts.records.get((kind, _int(record_id) or 0)) or f"the {kind}"


def kind_and_name(kind: str, record_id: Any, facts: Facts) -> str:
    """`deal Acme renewal` (or `the deal`, unnamed), for titles."""
    name = facts.records.get((kind, _int(record_id) or 0))
    return f"{kind} {name}" if name else f"the {kind}"


def record_link(kind: str, record_id: Any, facts: Facts) -> str:
    """The record's name as mrkdwn, linked when `slack.record_url` is set."""
    if _int(record_id) is None:
        return escape(f"the {kind}")
    return facts.links.record(kind, record_id, label=record_name(kind, record_id, facts))


def owner_name(owner: Any, facts: Facts) -> str:
    return facts.owners.get(str(owner), str(owner))


def choice(value: Any) -> str:
    """`closed_won` -> `Closed won`."""
    return str(value).replace("_", " ").capitalize()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- values ---------------------------------------------------------------------------------------


def moment(value: Any, facts: Facts, *, mrkdwn: bool = True) -> str:
    """A time as Slack's date token (each reader's own time zone), its fallback in the workspace's."""
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return escape(str(value)) if mrkdwn else str(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    local = at.astimezone(ZoneInfo(facts.timezone))
    fallback = f"{local:%a} {local.day} {local:%b %Y %H:%M} {local.tzname()}"
    if not mrkdwn:
        return fallback
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def value_text(name: str, value: Any, proposal: ProposalView, facts: Facts, *, currency: str | None = None,
               mrkdwn: bool = True) -> str:
    """One field's value as people read it (mrkdwn, escaped; plain text with mrkdwn=False)."""
    if value is None or value == "":
        return "_none_" if mrkdwn else "none"
    if name in REFS:
        return record_link(REFS[name], value, facts) if mrkdwn else record_name(REFS[name], value, facts)
    if name == "owner":
        text = owner_name(value, facts)
    elif name == "amount":
        text = money(value, currency or deal_currency(proposal, facts))
    elif name in DATES:
        text = day(str(value))
    elif name in TIMES:
        return moment(value, facts, mrkdwn=mrkdwn)
    elif name in CHOICES:
        text = choice(value)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif name in LONG and mrkdwn:  # notes keep their line breaks, quoted under their label
        lines = escape(truncate(str(value).replace("\r\n", "\n"), 1500)).split("\n")
        return "\n" + "\n".join(f">{line}" for line in lines)
    else:
        text = value if isinstance(value, str) else str(value)
        text = " ".join(text.split()) if mrkdwn else text
    return escape(truncate(text, 300)) if mrkdwn else text


def deal_currency(proposal: ProposalView, facts: Facts) -> str | None:
    """The currency of the deal a proposal's amount is in: its own, else the deal's."""
    if isinstance(proposal.args.get("currency"), str):
        return proposal.args["currency"]
    if proposal.record_kind == "deal" and proposal.record_id is not None:
        return facts.currencies.get(proposal.record_id)
    return None


# -- the title ------------------------------------------------------------------------------------


def title(proposal: ProposalView, facts: Facts) -> str:
    """What the proposal does, as a person would write it (plain text); a revert says so first."""
    said = _title(proposal, facts)
    return f"Revert: {said}" if proposal.reverts_id else said


def _title(proposal: ProposalView, facts: Facts) -> str:
    args, tool = proposal.args, proposal.tool
    named = {k: (facts.records.get((kind, _int(args[k]) or 0)) or f"the {kind}") for k, kind in REFS.items()
             if args.get(k)}
    if tool == "update_deal":
        return _deal_title(proposal, facts)
    if tool in ("update_contact", "update_company"):
        kind = tool.removeprefix("update_")
        fields = ", ".join(LABELS.get(d["field"], d["field"]).lower() for d in _changes(proposal))
        return f"Update {kind_and_name(kind, proposal.record_id, facts)}: {fields}"
    if tool == "create_lead":
        at = f" at {named['company_id']}" if "company_id" in named else ""
        return f"Add {args.get('first_name', '')} {args.get('last_name', '')} as a new lead{at}"
    if tool == "create_deal":
        amount = money(args.get("amount", 0), args.get("currency"))
        return f"Create deal {args.get('name', '')} for {named.get('company_id', 'a company')} ({amount})"
    if tool == "log_activity":
        verb = _ACTIVITY.get(str(args.get("kind")), f"Log a {args.get('kind')}")
        if args.get("kind") in ("call", "meeting", "email") and "contact_id" in named:
            return f"{verb} with {named['contact_id']}"
        on = named.get("deal_id") or named.get("contact_id") or named.get("company_id")
        return f"{verb} {'to' if args.get('kind') == 'note' else 'on'} {on}" if on else verb
    if tool == "create_task":
        due = f", due {day(str(args['due_date']))}" if args.get("due_date") else ""
        return f"Add a task: {args.get('subject', '')}{due}"
    if tool == "create_ticket":
        priority = "" if args.get("priority", "normal") == "normal" else f"{args['priority']}-priority "
        return f"Open a {priority}ticket for {named.get('company_id', 'a company')}: {args.get('subject', '')}"
    if tool == "send_email":
        return f"Send an e-mail to {named.get('contact_id') or args.get('to', 'someone')}"
    return "Change a CRM record"


def _deal_title(proposal: ProposalView, facts: Facts) -> str:
    name = kind_and_name("deal", proposal.record_id, facts)
    after = {d["field"]: d["after"] for d in _changes(proposal)}
    if set(after) == {"stage"}:
        stage = after["stage"]
        if stage in ("closed_won", "closed_lost"):
            return f"Mark {name} as {'won' if stage == 'closed_won' else 'lost'}"
        return f"Move {name} to {choice(stage)}"
    if set(after) and set(after) <= {"amount", "currency"} and "amount" in after:
        return f"Change the amount of {name} to {money(after['amount'], deal_currency(proposal, facts))}"
    if set(after) == {"close_date"}:
        return f"Move the close date of {name} to {day(str(after['close_date']))}"
    if set(after) == {"owner"}:
        return f"Hand {name} over to {owner_name(after['owner'], facts)}"
    fields = ", ".join(LABELS.get(f, f).lower() for f in after)
    return f"Update {name}: {fields}" if fields else f"Update {name}"


# -- the record and its fields --------------------------------------------------------------------


def record_line(proposal: ProposalView, facts: Facts) -> str:
    """Which record the proposal is about (mrkdwn): the one it changes, or what a new one is linked to."""
    if proposal.record_kind and proposal.record_id is not None and proposal.tool.startswith("update_"):
        kind = proposal.record_kind
        return f"*{_KIND.get(kind, kind.capitalize())}:* {record_link(kind, proposal.record_id, facts)}"
    refs = [f"*{LABELS[k]}:* {record_link(kind, proposal.args[k], facts)}"
            for k, kind in REFS.items() if proposal.args.get(k)]
    return " · ".join(refs)


def _changes(proposal: ProposalView) -> list[dict[str, Any]]:
    return [d for d in proposal.diff if d.get("field") not in _HIDDEN]


def rows(proposal: ProposalView, facts: Facts, current: Mapping[str, Any] | None = None) -> list[str]:
    """`• *Label*: before → after` per changed field of an update (with the value now, for a stale
    card); `• *Label*: value` per field a person set, for a create."""
    if proposal.tool.startswith("update_"):
        return _update_rows(proposal, facts, current)
    shown = [(k, v) for k, v in proposal.args.items()
             if k not in _HIDDEN and k not in REFS and v not in (None, "") and not _said_by_title(proposal, k)]
    return [f"• *{LABELS.get(k, choice(k))}*: {value_text(k, v, proposal, facts)}" for k, v in shown[:_MAX_ROWS]]


def _said_by_title(proposal: ProposalView, name: str) -> bool:
    said = {"create_lead": ("first_name", "last_name"), "create_deal": ("name", "amount", "currency"),
            "create_task": ("subject", "due_date"), "create_ticket": ("subject", "priority")}
    return name in said.get(proposal.tool, ())


def _update_rows(proposal: ProposalView, facts: Facts, current: Mapping[str, Any] | None) -> list[str]:
    changes = _changes(proposal)
    old_currency = next((d["before"] for d in changes if d["field"] == "currency"), None)
    lines = []
    for change in changes[:_MAX_ROWS]:
        name = change["field"]
        before = value_text(name, change["before"], proposal, facts,
                            currency=old_currency if name == "amount" else None)
        line = f"• *{LABELS.get(name, choice(name))}*: {before} → {value_text(name, change['after'], proposal, facts)}"
        if current is not None and name in current:
            line += f"  (now {value_text(name, current[name], proposal, facts)})"
        lines.append(line)
    if len(changes) > _MAX_ROWS:
        lines.append(f"… and {len(changes) - _MAX_ROWS} more fields")
    return lines


def edited_rows(proposal: ProposalView, facts: Facts) -> list[str]:
    """What the editor changed against the version they edited: `• *Label*: was → now`, or the
    value with _(added)_ / _(removed)_ for a field only one of the two versions sets."""
    old = facts.replaced
    if old is None:
        return []
    names = [k for k in dict.fromkeys([*old.args, *proposal.args])
             if k not in _HIDDEN and old.args.get(k) != proposal.args.get(k)]
    lines = []
    for k in names[:_MAX_ROWS]:
        before, after = old.args.get(k), proposal.args.get(k)
        label = f"• *{LABELS.get(k, choice(k))}*:"
        if before in (None, ""):
            lines.append(f"{label} {value_text(k, after, proposal, facts)} _(added)_")
        elif after in (None, ""):
            lines.append(f"{label} {value_text(k, before, old, facts)} _(removed)_")
        else:
            lines.append(f"{label} {value_text(k, before, old, facts)} → {value_text(k, after, proposal, facts)}")
    return lines


# -- risk and who decides -------------------------------------------------------------------------


def risk_line(proposal: ProposalView, facts: Facts) -> str:
    """`🔴 High risk: it closes the deal.` The reasons mirror bot.actions.operations._risk_of."""
    return f"{_RISK.get(proposal.risk, escape(proposal.risk))}: {_why(proposal, facts)}"


def _why(proposal: ProposalView, facts: Facts) -> str:
    after = {d["field"]: d for d in _changes(proposal)}
    if proposal.tool == "send_email":
        return "an e-mail leaves the company and cannot be called back"
    if proposal.tool == "update_deal" and proposal.risk == "high":
        stage = (after.get("stage") or {}).get("after")
        if stage in ("closed_won", "closed_lost"):
            return "it closes the deal"
        if "amount" in after:
            return "the amount changes by more than the approval threshold"
    return {
        "update_deal": "it changes a deal in the pipeline", "update_contact": "it changes a contact's details",
        "update_company": "it changes a company's details", "create_deal": "it adds a deal to the pipeline",
        "create_lead": "it only adds a new lead", "log_activity": "it only adds to the record's history",
        "create_task": "it only adds a task", "create_ticket": "it only opens a support ticket",
    }.get(proposal.tool, "a change to the CRM")


def approval_line(proposal: ProposalView, facts: Facts) -> str:
    """Who may approve, in words: "Needs the deal's owner or a manager (not the requester)"."""
    if facts.rule is None:
        return ""
    rules, self_ok = facts.rule
    kind = proposal.record_kind or "record"
    words = list(dict.fromkeys(_rule_words(r, kind) for r in rules if not (r == "requester" and not self_ok)))
    if not words:
        return "Nobody may approve this under the current rules"
    text = "Needs " + (", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0])
    return text if self_ok else text + f" (not <@{proposal.requester}>, who asked)"


def _rule_words(rule: str, kind: str) -> str:
    kind_of, _, name = rule.partition(":")
    if kind_of == "group":
        return f"a {name[:-1]}" if name.endswith("ers") else f"someone in {name}"
    if kind_of == "user":
        return f"<@{name}>"
    return {"requester": "the person who asked", "channel_members": "anyone in the channel",
            "record_owner": f"the {kind}'s owner", "anyone": "anyone"}.get(rule, escape(rule))


def labels(names: Sequence[str]) -> list[str]:
    """Field labels for field names (for modals and messages)."""
    return [LABELS.get(n, choice(n)) for n in names]
