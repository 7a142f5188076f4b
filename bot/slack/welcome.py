"""The local workspace's first screen: a short welcome in #sales with three things to try.

Each try names who types it (the demo people: a sales rep and a sales manager) and a record that
exists in the CRM the workspace runs on, picked from it when the workspace opens: the rep's
largest deal at the proposal stage (else their largest open deal, else any open deal). So the
three tries work on the demo data and keep working on any other CRM; with no deal at all the
welcome says how to load the demo. The builder is a pure function of the tries.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.crm.base import OPEN_DEAL_STAGES, CrmAdapter, Deal, DealFilter
from bot.slack.mrkdwn import escape
from bot.slack.types import SlackMessage

_SCAN = 500  # deals read to pick the example: enough for the demo's and any small CRM's


@dataclass(frozen=True)
class Person:
    """A person of the workspace as the welcome names them."""

    handle: str  # what the person picker shows ("bob")
    name: str  # "Bob Baker (account executive)"
    email: str | None = None  # matches them to their CRM owner


@dataclass(frozen=True)
class Try:
    """One thing to try: who types what, about which record, and what it shows."""

    person: Person
    text: str  # typed exactly so in the message box of #sales
    shows: str
    record: tuple[str, int] | None = None  # (kind, id) of the record the text names
    then: str = ""  # a second step, if any (mrkdwn)


def pick_deal(crm: CrmAdapter, rep: Person) -> Deal | None:
    """The rep's largest deal at the proposal stage, else their largest open deal, else any open deal."""
    owner = next((o.id for o in crm.owners() if o.email and rep.email and o.email.lower() == rep.email.lower()),
                 None)
    for filters in (DealFilter(stages=("proposal",), owner=owner) if owner else None,
                    DealFilter(stages=OPEN_DEAL_STAGES, owner=owner) if owner else None,
                    DealFilter(stages=OPEN_DEAL_STAGES)):
        if filters is None:
            continue
        deals = crm.list_deals(filters, limit=_SCAN)
        if deals:
            return min(deals, key=lambda d: (-d.amount, d.id))
    return None


def demo_tries(crm: CrmAdapter, *, rep: Person, manager: Person, bot_handle: str) -> list[Try]:
    """The three tries on records of this CRM; none when it holds no open deal."""
    deal = pick_deal(crm, rep)
    if deal is None:
        return []
    company = crm.get("company", deal.company_id)
    account = company.name if company is not None else deal.name
    about = ("company", company.id) if company is not None else ("deal", deal.id)
    next_stage = "negotiation" if deal.stage != "negotiation" else "proposal"
    return [
        Try(rep, f"/crm find {account}", "the account, its open deals and links, without the AI", about),
        Try(rep, f"@{bot_handle} where are we with the {account} deal?",
            "an answer from the CRM, with the records it used", ("deal", deal.id)),
        Try(rep, f"@{bot_handle} move the {account} deal to {next_stage}",
            "a proposed change: nothing happens until someone allowed approves it", ("deal", deal.id),
            then=f"then, *as {escape(manager.name)}*, open the thread and click *Approve*"),
    ]


def welcome_message(tries: list[Try], bot_name: str) -> SlackMessage:
    """The welcome: three numbered tries, each with who types it and what it shows."""
    head = f"👋 *Welcome to the local workspace of {escape(bot_name)}.*"
    if not tries:
        text = (f"{head} The CRM holds no open deal yet: stop this, run `python -m bot seed-demo`, start again, "
                "and three things to try appear here. `/crm help` works now.")
        return "Welcome to the local workspace", [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    lines = [f"{head} Pick who you are at the top left, then try, here in #sales:"]
    for number, one in enumerate(tries, 1):
        then = f"; {one.then}" if one.then else ""
        lines.append(f"{number}. *As {escape(one.person.name)}*: `{escape(one.text)}`{then}\n"
                     f"      _{escape(one.shows)}_")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
              {"type": "context", "elements": [{"type": "mrkdwn", "text": (
                  "Each person sees only the records their role allows. `/crm help` lists the commands; "
                  "the Home tab shows what waits for you.")}]}]
    return "Welcome to the local workspace: three things to try", blocks
