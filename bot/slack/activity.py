"""What the agent is doing, in words a person reads: the titles of the task timeline and the
loading messages of the native status, from the tool calls as they start and finish.

The words never carry a record's content. Record ids and counts are not personal data, so they
are used everywhere; the free text of a call (a search for "Henry Bennett") is shown only where
the asker alone reads (`private`), since it may be a value other members of a channel may not see.
A finished call says only how it went ("3 deals found", "not found"), never what it found.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.agent.loop import ToolEvent
from bot.slack.mrkdwn import truncate

TITLE_LIMIT = 120  # a timeline row and a loading message stay one short line

# What each read returns, for "3 deals found" (singular, plural).
_NOUNS = {
    "search_contacts": ("contact", "contacts"), "search_companies": ("company", "companies"),
    "list_deals": ("deal", "deals"), "list_activities": ("activity", "activities"),
    "list_tickets": ("ticket", "tickets"), "search_kb": ("article", "articles"),
}
_WRITES = {
    "update_contact": "a change to contact {contact_id}", "update_company": "a change to company {company_id}",
    "update_deal": "a change to deal {deal_id}", "create_lead": "a new lead", "create_deal": "a new deal",
    "log_activity": "an activity to log", "create_task": "a task", "create_ticket": "a ticket",
    "send_email": "an e-mail",
}


def title(event: ToolEvent, *, private: bool) -> str:
    """What a tool call does, in words: "Looking up deal 212", "Searching contacts for “Henry”"."""
    args = event.arguments
    wording = _READS.get(event.name)
    if wording is not None:
        text = wording(args, private)
    elif event.name in _WRITES:
        text = f"Drafting {_fill(_WRITES[event.name], args)} for approval"
    else:
        text = "Working on it"
    return truncate(text, TITLE_LIMIT)


def loading(event: ToolEvent, *, private: bool) -> str:
    """The native status's loading message for a call that started."""
    return title(event, private=private) + "…"


def output(event: ToolEvent) -> str:
    """How a finished call went, without what it found: "3 deals found", "not found", "needs approval"."""
    if event.outcome == "proposed":
        return "drafted: nothing changes until someone approves"
    if event.outcome == "invalid":
        return "the request was malformed; trying another way"
    if event.outcome == "failed":
        return "could not be done"
    if event.found is None:
        return "done"
    noun = _NOUNS.get(event.name)
    if noun is None:
        return "found" if event.found else "not found or not visible to you"
    if event.found == 0:
        return f"no {noun[1]} found"
    return f"{event.found} {noun[0] if event.found == 1 else noun[1]} found"


def status(event: ToolEvent) -> str:
    """The timeline status of a call: in_progress while it runs, complete or error once done."""
    if event.phase == "started":
        return "in_progress"
    return "error" if event.outcome in ("failed", "invalid") else "complete"


def _fill(template: str, args: Mapping[str, Any]) -> str:
    try:
        return template.format(**{k: _id(v) for k, v in args.items()})
    except (KeyError, IndexError, ValueError):
        return template.split(" to ")[0] if "{" in template else template


def _id(value: Any) -> str:
    """Only numbers are shown as ids; anything else the model put in an id field is left out."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


def _quoted(args: Mapping[str, Any], key: str, private: bool) -> str:
    value = args.get(key)
    if not private or not isinstance(value, str) or not value.strip():
        return ""
    return f" for “{truncate(' '.join(value.split()), 60)}”"


def _of(args: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = args.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return f" of {key.removesuffix('_id')} {value}"
    return ""


def _deals(args: Mapping[str, Any], private: bool) -> str:
    text = "Looking up open deals" if args.get("open_only", True) else "Looking up deals"
    text += _of(args, "company_id")
    if isinstance(args.get("closing_within_days"), int):
        text += f" closing within {args['closing_within_days']} days"
    if isinstance(args.get("stale_days"), int):
        text += f" quiet for {args['stale_days']} days"
    return text


_READS: dict[str, Callable[[Mapping[str, Any], bool], str]] = {
    "search_contacts": lambda a, p: "Searching contacts" + _quoted(a, "text", p),
    "search_companies": lambda a, p: "Searching companies" + _quoted(a, "text", p),
    "get_contact": lambda a, p: f"Reading contact {_id(a.get('contact_id'))}",
    "get_company": lambda a, p: f"Reading company {_id(a.get('company_id'))}",
    "get_deal": lambda a, p: f"Looking up deal {_id(a.get('deal_id'))}",
    "list_deals": _deals,
    "list_activities": lambda a, p: "Reading recent activities" + _of(a, "deal_id", "contact_id", "company_id"),
    "list_tickets": lambda a, p: "Checking tickets" + _of(a, "company_id"),
    "search_kb": lambda a, p: "Searching the knowledge base" + _quoted(a, "query", p),
    "lead_score": lambda a, p: f"Scoring contact {_id(a.get('contact_id'))} as a lead",
    "churn_risk": lambda a, p: f"Estimating the churn risk of company {_id(a.get('company_id'))}",
}
