"""Messages: the status line while the agent works, answers with sources, help, search results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
              extra: Sequence[dict[str, Any]] = ()) -> Answer:
    """An answer with its sources and note under it, then the extra blocks (disclaimer, feedback)."""
    footer = []
    if citations:
        footer.append("Sources: " + " · ".join(links.citation(c) if ":" not in c.split("#")[0]
                                               else links.record_ref(c) for c in citations[:20]))
    if note:
        footer.append(escape(note))
    blocks = [context("\n".join(footer))] if footer else []
    return Answer(mrkdwn.strip() or "(no answer)", (*blocks, *extra))


def answer(mrkdwn: str, citations: Sequence[str], links: Links, note: str | None = None) -> list[SlackMessage]:
    """The answer cut into sections and messages; sources and a note under the last one."""
    return answer_of(mrkdwn, citations, links, note).parts()


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
