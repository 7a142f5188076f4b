"""A digest as Slack messages: the main message (at most 50 blocks) and its overflow thread replies.

Each section shows its first lines; the rest are counted ("… and N more in the thread") and listed
in full, as plain lines, in replies under the digest. Actionable lines (stale deals, accounts at
risk) carry "Log follow-up" and "Snooze 7 days" buttons whose value names only the record; the
click becomes a proposal that goes through the usual approval card.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.records import Digest, Line, RunView, Section, Subscription
from bot.slack.blocks.links import Links, when
from bot.slack.blocks.messages import button, context, section
from bot.slack.mrkdwn import escape, escape_fit, from_model, split, truncate
from bot.slack.types import SlackMessage

MAX_BLOCKS = 50
FOLLOW_UP, SNOOZE = "digest_follow_up", "digest_snooze"
ACTION_IDS = {"follow_up": FOLLOW_UP, "snooze": SNOOZE}
_LABELS = {"follow_up": "Log follow-up", "snooze": "Snooze 7 days"}


def channel_ref(channel: str) -> str:
    """A digest's channel as mrkdwn: a "#name" from app.toml as text, a channel id as a mention."""
    return escape(channel) if channel.startswith("#") else f"<#{channel}>"


def subscription_text(sub: Subscription, last: RunView | None = None, *, with_state: bool = False) -> str:
    """One digest as mrkdwn: name, channel, schedule and sections; with its last run when asked."""
    text = (f"`{escape_fit(sub.name, 64)}` in {channel_ref(sub.channel)}: `{escape_fit(sub.cron, 64)}` "
            f"{escape(sub.timezone)}\n{escape(', '.join(sub.sections))} ({sub.source})")
    if with_state:
        text += "; never ran" if last is None else f"; last run {when(last.scheduled_for)}: {last.status}"
        if last is not None and last.error:
            text += f" ({escape_fit(last.error, 300)})"
    return text


def action_value(digest: str, kind: str, record_id: int) -> str:
    """A button's value: the digest and the record, nothing else (the rest is read from the CRM)."""
    return f"{digest}|{kind}|{record_id}"


def parse_action_value(value: str) -> tuple[str, str, int] | None:
    """(digest, record kind, record id) from a button value, or None when it is not one of ours."""
    parts = value.split("|")
    if len(parts) != 3 or parts[1] not in ("deal", "company") or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


def line_text(line: Line, links: Links) -> str:
    """A line as mrkdwn: its text escaped, the record linked (or named), the owner by name."""
    text = escape_fit(line.text, 600)
    if line.record:
        text += " · " + links.record(*line.record)
    if line.owner:
        text += " · " + escape_fit(line.owner, 100)
    return text


def render(digest: Digest, links: Links, *, lines_per_section: int,
           interactive: bool = True) -> tuple[SlackMessage, list[SlackMessage]]:
    """(main message, thread replies) for a digest; without buttons when not `interactive` (a
    preview only its caller sees: a click there would have no thread to answer in)."""
    title = f"Digest: {digest.name}"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": truncate(title, 150)}}]
    about = f"Since {when(digest.since)}"
    if digest.catching_up:
        missed = f"{digest.missed} earlier run{'s' if digest.missed != 1 else ''} missed and coalesced here; " \
            if digest.missed else ""
        about = f"⏪ Catching up after downtime: {missed}scheduled for {when(digest.slot)}. " + about
    blocks.append(context(about))
    if digest.summary:
        blocks.append(section(from_model(digest.summary, links.allowed_hosts)))
    if digest.empty:
        blocks.append(section("Nothing to report: every section of this digest is empty."))
    overflow: list[Section] = []
    for i, part in enumerate(digest.sections):
        # Keep room for the sections still to come (two blocks each at least) and their notes.
        room = MAX_BLOCKS - len(blocks) - 2 * (len(digest.sections) - i - 1)
        shown, part_blocks = _section_blocks(digest.name, i, part, links, lines_per_section, room, interactive)
        blocks += part_blocks
        if shown < part.total:
            overflow.append(part)
    fallback = f"{title}: " + (", ".join(f"{s.title} ({s.total})" for s in digest.sections) or "nothing to report")
    return (escape_fit(fallback, 300), blocks[:MAX_BLOCKS]), _thread(overflow, links)


def _section_blocks(name: str, index: int, part: Section, links: Links, limit: int, room: int,
                    interactive: bool) -> tuple[int, list[dict[str, Any]]]:
    """(lines shown, blocks) for one section within `room` blocks (at least 2 are always left)."""
    head = f"*{escape(part.title)}* ({part.total})"
    if part.note:
        head += f"\n_{escape_fit(part.note, 1500)}_"
    lines = list(part.lines[:limit])
    actionable = [ln for ln in lines if ln.actions and ln.record] if interactive else []
    if not actionable:
        text = "\n".join([head, *(f"• {line_text(ln, links)}" for ln in lines)])
        shown = len(lines)
        while len(text) > 3000 and shown > 0:  # a long section keeps what fits; the thread has the rest
            shown -= 1
            text = "\n".join([head, *(f"• {line_text(ln, links)}" for ln in lines[:shown])])
        blocks = [section(text)]
    else:
        # Each actionable line is a section plus an actions block: as many as the room allows.
        shown = max(0, min(len(lines), (room - 2) // 2))
        blocks = [section(head)]
        for n, line in enumerate(lines[:shown]):
            blocks.append(section(line_text(line, links)))
            if not (line.actions and line.record):
                continue  # a line nobody can act on (no record, or nothing to do) has no buttons
            value = action_value(name, *line.record)
            # Unique within the message: section position and line position.
            blocks.append({"type": "actions", "block_id": f"dg:{index}:{n}",
                           "elements": [button(_LABELS[a], ACTION_IDS[a], value) for a in line.actions]})
    if shown < part.total:
        blocks.append(context(f"… and {part.total - shown:,} more in the thread"))
    return shown, blocks


def _thread(parts: Sequence[Section], links: Links) -> list[SlackMessage]:
    """Every overflowing section in full, as plain lines, in messages of at most 50 blocks."""
    blocks: list[dict[str, Any]] = []
    for part in parts:
        text = "\n".join([f"*{escape(part.title)}*, all {part.total:,}:",
                          *(f"• {line_text(ln, links)}" for ln in part.lines)])
        if part.total > len(part.lines):
            text += f"\n… and {part.total - len(part.lines):,} more not listed here"
        blocks += [section(piece) for piece in split(text)]
    return [(f"The rest of the digest ({i + 1})", blocks[start:start + MAX_BLOCKS])
            for i, start in enumerate(range(0, len(blocks), MAX_BLOCKS))]
