"""Messages: the status line while the agent works, answers with sources, help, search results.

Records are named and linked wherever a message mentions them (see `Links.record`); counts agree
with their nouns ("1 match", "2 matches")."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.crm.base import Company, Deal, SearchHit
from bot.formats import money
from bot.records import ProposalView
from bot.slack.blocks.links import Links, when
from bot.slack.mrkdwn import SECTION_LIMIT, escape, escape_fit, link, split, truncate
from bot.slack.types import SlackMessage
from bot.sources import is_record, used_sources

MAX_FOUND = 10  # `/crm find` results shown with their details (each one is a look-up)
OPEN_CARD = "open_card"  # a link button: Slack opens the URL and tells the app, which only acknowledges
SECTIONS_PER_MESSAGE = 10  # keeps each message well under Slack's 40,000 characters and 50 blocks
_REFERENCE = re.compile(r"\b(company|contact|deal|ticket) #?(\d+)\b", re.IGNORECASE)
_MARKUP = re.compile(r"```.*?```|`[^`\n]*`|<[^<>]*>", re.DOTALL)  # code and links: not touched

HELP = (
    "*Ask me about customers, deals and policies.* Mention me in a channel, DM me, or reply in my thread.\n"
    "• `/crm <question>`: ask the agent; a word will do (`/crm Acme`, `/crm pipeline`)\n"
    "• `/crm find <text>`: search contacts and companies (no AI)\n"
    "• `/crm pending`: proposals you can approve or reject\n"
    "• `/crm usage`: your requests this minute and model tokens today, with their limits\n"
    "• `/crm digest`: scheduled digests for a channel (subscribe, list, preview, run now)\n"
    "• `/crm failed`: the failed list, and `/crm failed retry ID` (roles that may read audit trails)\n"
    "• `/crm help`: this help\n"
    "Changes I suggest are posted as cards: nothing happens until someone allowed to clicks *Approve*."
)


def button(text: str, action_id: str, value: str, style: str | None = None,
            confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Block Kit button (plain-text label); `confirm` is a confirmation dialog."""
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text},
                              "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def status(text: str) -> SlackMessage:
    """The status line; its text may hold names the model chose, so the fallback is escaped too."""
    return escape_fit(text, 300), [context(f"⏳ {escape(text)}")]


@dataclass(frozen=True)
class Answer:
    """An answer as safe mrkdwn and the blocks under it (sources, a note, disclaimer, feedback):
    streamed as text then blocks, or posted as messages (`parts`)."""

    body: str
    footer: tuple[dict[str, Any], ...] = ()

    def parts(self) -> list[SlackMessage]:
        """The answer cut into sections and messages; the footer under the last one."""
        pieces = split(self.body) or ["(no answer)"]
        messages: list[SlackMessage] = []
        for start in range(0, len(pieces), SECTIONS_PER_MESSAGE):
            chunk = pieces[start:start + SECTIONS_PER_MESSAGE]
            messages.append((truncate(chunk[0], 3000), [section(p) for p in chunk]))
        messages[-1][1].extend(dict(b) for b in self.footer)
        return messages


def answer_of(mrkdwn: str, citations: Sequence[str], links: Links, note: str | None = None,
              extra: Sequence[dict[str, Any]] = (), names: Mapping[str, str] | None = None) -> Answer:
    """An answer with the sources it used (see `bot.sources`), named and linked, and a note under
    it, then the extra blocks (disclaimer, feedback)."""
    footer = []
    names = names or {}
    # The rule reads the answer as a person does: Slack's three escapes undone.
    used = used_sources(mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"), citations, names)
    if used:
        footer.append("Sources: " + " · ".join(_source(c, links, names.get(c)) for c in used[:20]))
    if note:
        footer.append(escape(note))
    blocks = [context("\n".join(footer))] if footer else []
    return Answer(link_references(mrkdwn, citations, links).strip() or "(no answer)", (*blocks, *extra))


def answer(mrkdwn: str, citations: Sequence[str], links: Links, note: str | None = None,
           names: Mapping[str, str] | None = None) -> list[SlackMessage]:
    """The answer cut into sections and messages; sources and a note under the last one."""
    return answer_of(mrkdwn, citations, links, note, names=names).parts()


def link_references(mrkdwn: str, citations: Sequence[str], links: Links) -> str:
    """"deal 212" in an answer linked to the record, for records the run read (a number the model
    made up stays text); code and links already there are left alone."""
    read = {c for c in citations if is_record(c)}

    def one(match: re.Match[str]) -> str:
        kind, record_id = match.group(1).lower(), match.group(2)
        url = links.record_link(kind, record_id) if f"{kind}:{record_id}" in read else None
        return link(url, match.group(0)) if url else match.group(0)

    out, last = [], 0
    for markup in _MARKUP.finditer(mrkdwn):
        out += [_REFERENCE.sub(one, mrkdwn[last:markup.start()]), markup.group(0)]
        last = markup.end()
    return "".join(out) + _REFERENCE.sub(one, mrkdwn[last:])


def _source(citation: str, links: Links, name: str | None) -> str:
    if is_record(citation):
        kind, _, record_id = citation.partition(":")
        return links.record(kind, record_id, name)
    return links.citation(citation, name)


def plain(text: str) -> SlackMessage:
    """A message of our own wording (already safe mrkdwn)."""
    return truncate(text, 300), [section(text)]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 match", "2 matches": a number with its noun in the right form."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {plural or (noun + 'es' if noun.endswith(('s', 'sh', 'ch', 'x')) else noun + 's')}"


@dataclass(frozen=True)
class Found:
    """One `/crm find` result and what the reader may see around it: a contact's company, the open
    deals of the contact or company, and the CRM's own links (None where the CRM has none)."""

    hit: SearchHit
    company: Company | None = None
    open_deals: tuple[Deal, ...] = ()
    url: str | None = None
    company_url: str | None = None
    deal_urls: Mapping[int, str | None] = field(default_factory=dict)
    subtitle: str | None = None  # in place of the search's own (a contact's title, e-mail, phone)


def stage_label(stage: str) -> str:
    return stage.replace("_", " ").capitalize()


def deal_line(deal: Deal, links: Links, url: str | None = None) -> str:
    """A deal named and linked, with its amount, stage and close date."""
    closes = f", closes {deal.close_date.day} {deal.close_date:%b %Y}" if deal.close_date else ""
    return (f"{links.record('deal', deal.id, deal.name, url)} (deal {deal.id}): {money(deal.amount, deal.currency)},"
            f" {stage_label(deal.stage)}{closes}")


def find_results(query: str, found: Sequence[Found], links: Links, *, deals_shown: int = 3) -> SlackMessage:
    """Each match named and linked with its id; a contact with its company; open deals under both."""
    if not found:
        return plain(f"No contacts or companies match “{escape(query)}”.")
    head = f"{count(len(found), 'match')} for “{escape_fit(query, 100)}”"
    blocks = [section(f"*{head}*")]
    for item in found[:MAX_FOUND]:
        hit = item.hit
        line = f"{links.record(hit.kind, hit.id, hit.title, item.url)} · {hit.kind} {hit.id}"
        if item.company is not None:
            company = item.company
            line += f" · at {links.record('company', company.id, company.name, item.company_url)} (company {company.id})"
        subtitle = hit.subtitle if item.subtitle is None else item.subtitle
        if subtitle:
            line += f"\n{escape_fit(subtitle, 500)}"
        deals = item.open_deals
        if deals:
            line += f"\n{count(len(deals), 'open deal')}:"
            line += "".join(f"\n   • {deal_line(d, links, item.deal_urls.get(d.id))}" for d in deals[:deals_shown])
            if len(deals) > deals_shown:
                line += f"\n   … and {len(deals) - deals_shown} more"
        blocks.append(section(line))
    if len(found) > MAX_FOUND:
        blocks.append(context(f"… and {len(found) - MAX_FOUND} more: add a word to narrow the search."))
    return head, blocks


def pending_list(proposals: Sequence[ProposalView], links: Links, *, permalinks: Mapping[str, str] | None = None,
                 limit: int = 20) -> SlackMessage:
    """What awaits the reader: each proposal with its record linked and, where Slack gave us its
    permalink, a button that opens the card (the buttons to decide are on the card)."""
    if not proposals:
        return plain("Nothing is waiting for you: no pending proposals you may approve.")
    permalinks = permalinks or {}
    many = len(proposals) != 1
    head = f"{count(len(proposals), 'proposal')} await{'' if many else 's'} your decision"
    blocks: list[dict[str, Any]] = [section(f"*{head}*: open a card to approve, reject or edit it.")]
    for p in proposals[:limit]:
        where = f" in <#{p.channel}>" if p.channel else ""
        record = (f" · {links.record(p.record_kind, p.record_id)}"
                  if p.record_kind and p.record_id is not None else "")
        block = section(f"*{escape_fit(p.summary, 500)}*\n{p.risk} risk · from <@{p.requester}>{where}"
                        f" · expires {when(p.expires_at)}{record}")
        url = permalinks.get(p.id)
        if url:
            block["accessory"] = {"type": "button", "action_id": OPEN_CARD, "value": p.id,
                                  "text": {"type": "plain_text", "text": "Open card"}, "url": url}
        blocks.append(block)
    if len(proposals) > limit:
        blocks.append(context(f"… and {len(proposals) - limit} more"))
    # The fallback text only counts them: who asked is a mention, which only the blocks render as a name.
    return head, blocks


_KINDS = {"turn": "question", "answer": "answer", "execution": "approved change", "digest": "digest"}


def failed_list(letters: Sequence[Any]) -> SlackMessage:
    """`/crm failed`: the dead-letter list, newest first, with why each item failed."""
    if not letters:
        text = "Nothing is on the failed list: every request was answered."
        return text, [section(text)]
    head = f"{len(letters)} item{'s' if len(letters) != 1 else ''} could not be finished:"
    lines = []
    for letter in letters:
        where = f" in <#{letter.channel}>" if letter.channel else ""
        who = f" for <@{letter.user}>" if letter.user else ""
        state = {"queued": "will be retried", "retrying": "being retried", "failed": "failed"}.get(letter.status,
                                                                                              letter.status)
        lines.append(f"*{letter.id}* · {_KINDS.get(letter.kind, escape(letter.kind))}{who}{where} · {state} · "
                     f"{letter.attempts} retr{'y' if letter.attempts == 1 else 'ies'} · {escape_fit(letter.reason, 200)}")
    blocks = [section(head), *(section(line) for line in lines[:40]),
              context("`/crm failed retry ID` tries one again; `python -m bot failed` has show and drop.")]
    return head, blocks
