"""Messages: the status line while the agent works, answers with sources, help, search results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.crm.base import SearchHit
from bot.records import ProposalView
from bot.slack.blocks.links import Links, when
from bot.slack.mrkdwn import SECTION_LIMIT, escape, escape_fit, split, truncate
from bot.slack.types import SlackMessage

SECTIONS_PER_MESSAGE = 10  # keeps each message well under Slack's 40,000 characters and 50 blocks

HELP = (
    "*Ask me about customers, deals and policies.* Mention me in a channel, DM me, or reply in my thread.\n"
    "• `/crm <question>`: ask the agent\n"
    "• `/crm find <text>`: search contacts and companies (no AI)\n"
    "• `/crm pending`: proposals you can approve or reject\n"
    "• `/crm digest`: scheduled digests for a channel (subscribe, list, preview, run now)\n"
    "• `/crm help`: this help\n"
    "Changes I suggest are posted as cards: nothing happens until someone allowed to clicks *Approve*."
)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def status(text: str) -> SlackMessage:
    """The status line; its text may hold names the model chose, so the fallback is escaped too."""
    return escape_fit(text, 300), [context(f"⏳ {escape(text)}")]


def answer(mrkdwn: str, citations: Sequence[str], links: Links, note: str | None = None) -> list[SlackMessage]:
    """The answer cut into sections and messages; sources and a note under the last one."""
    pieces = split(mrkdwn) or ["(no answer)"]
    messages: list[SlackMessage] = []
    for start in range(0, len(pieces), SECTIONS_PER_MESSAGE):
        chunk = pieces[start:start + SECTIONS_PER_MESSAGE]
        messages.append((truncate(chunk[0], 3000), [section(p) for p in chunk]))
    footer = []
    if citations:
        footer.append("Sources: " + " · ".join(links.citation(c) if ":" not in c.split("#")[0]
                                               else links.record_ref(c) for c in citations[:20]))
    if note:
        footer.append(escape(note))
    if footer:
        messages[-1][1].append(context("\n".join(footer)))
    return messages


def plain(text: str) -> SlackMessage:
    """A message of our own wording (already safe mrkdwn)."""
    return truncate(text, 300), [section(text)]


def find_results(query: str, hits: Sequence[SearchHit], links: Links) -> SlackMessage:
    if not hits:
        return plain(f"No contacts or companies match “{escape(query)}”.")
    lines = [f"• {links.record(h.kind, h.id, h.title)}" + (f": {escape(h.subtitle)}" if h.subtitle else "")
             for h in hits]
    return plain(f"*{len(hits)} matches for “{escape_fit(query, 100)}”*\n" + "\n".join(lines))


def pending_list(proposals: Sequence[ProposalView], links: Links, *, limit: int = 20) -> SlackMessage:
    if not proposals:
        return plain("Nothing is waiting for you: no pending proposals you may approve.")
    lines = []
    for p in proposals[:limit]:
        where = f" in <#{p.channel}>" if p.channel else ""
        lines.append(f"• `{p.id}` {escape_fit(p.summary, 200)} ({p.risk} risk, from <@{p.requester}>{where},"
                     f" expires {when(p.expires_at)})")
    more = f"\n… and {len(proposals) - limit} more" if len(proposals) > limit else ""
    many = len(proposals) != 1
    head = f"{len(proposals)} proposal{'s' if many else ''} await{'' if many else 's'} your decision"
    # The fallback text only counts them: who asked is a mention, which only the blocks render as a name.
    return head, plain(f"*{head}* (their cards have the buttons)\n" + "\n".join(lines) + more)[1]


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
