"""Slack's mrkdwn, both ways: a person's message read as plain text, model text made safe for
Slack and cut to Slack's size limits.

Slack reads `<...>` as control sequences (`<!channel>` notifies everyone, `<url|label>` hides
where a link goes), so everything the model writes is escaped, and only links to allowed hosts
survive as links. Markdown the model tends to write (`**bold**`, `[label](url)`, `# heading`)
is turned into its mrkdwn form first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

SECTION_LIMIT = 3000  # characters of text in one section block

_MD_LINK = re.compile(r"\[([^\]\n]{1,300})\]\((https?://[^\s)]{1,2000})\)")
_SLACK_LINK = re.compile(r"<(https?://[^|>\s]{1,2000})(?:\|([^>\n]{0,300}))?>")
_SLACK_MARKUP = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")  # what Slack wraps in <...>: links, mentions
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_TOKEN = "\x00{}\x00"


def host_allowed(url: str, allowed: Iterable[str]) -> bool:
    """True if url is http(s) on one of the allowed hosts or a subdomain of one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and any(host == a or host.endswith("." + a) for a in allowed)


def escape(text: str) -> str:
    """Slack's three escapes; nothing in the result is a control sequence."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_fit(text: str, limit: int) -> str:
    """Escaped text of at most limit characters (cut before escaping, so no escape is split)."""
    out = escape(text)
    while len(out) > limit:
        text = truncate(text, max(len(text) - (len(out) - limit), 1))
        out = escape(text)
    return out


def link(url: str, label: str) -> str:
    """A link we build ourselves (record and article links); the label is escaped."""
    return f"<{url}|{escape(label).replace('|', '/')}>"


def from_model(text: str, allowed_hosts: Iterable[str]) -> str:
    """Model text as safe mrkdwn: escaped, links kept only to allowed hosts, Markdown converted."""
    allowed = tuple(h.lower() for h in allowed_hosts)
    text = text.replace("\x00", "")
    kept: list[str] = []

    def keep(url: str, label: str | None) -> str:
        label = (label or "").strip()
        if not host_allowed(url, allowed):
            return f"{label} ({url})" if label and label != url else url
        kept.append(link(url, label) if label else f"<{url}>")
        return _TOKEN.format(len(kept) - 1)

    text = _MD_LINK.sub(lambda m: keep(m.group(2), m.group(1)), text)
    text = _SLACK_LINK.sub(lambda m: keep(m.group(1), m.group(2)), text)
    text = escape(text)
    text = _BOLD.sub(r"*\1*", text)
    text = _HEADING.sub(r"*\1*", text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def split(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Cut text into pieces of at most limit characters, at paragraph, line or word boundaries,
    never inside an escape (`&amp;`) or a link (`<...>`)."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = next((at for at in (window.rfind("\n\n"), window.rfind("\n"), window.rfind(" ")) if at >= limit // 2),
                   -1)
        cut = _outside_markup(window, cut if cut > 0 else limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _outside_markup(window: str, cut: int) -> int:
    """Move a cut back to before an unfinished `<...>` or `&...;` (unless that leaves nothing)."""
    opened = window.rfind("<", 0, cut)
    if opened > window.rfind(">", 0, cut) and opened > 0:
        cut = opened
    amp = window.rfind("&", 0, cut)
    if amp > 0 and ";" not in window[amp:cut] and cut - amp < 6:
        cut = amp
    return cut


def truncate(text: str, limit: int) -> str:
    """Plain text cut to limit characters with an ellipsis (for headers, fallbacks, buttons)."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def unwrap(text: str) -> str:
    """Slack markup to plain text: <mailto:a@b.c|a@b.c> -> a@b.c, <@U1> -> @U1, <url|label> -> label (url)."""

    def plain(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "#")):
            return f"{target[0]}{label}" if label else target
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        if target.startswith(("mailto:", "tel:")):
            return label or target.split(":", 1)[1]
        return f"{label} ({target})" if label and label != target else target

    return _SLACK_MARKUP.sub(plain, text)


def incoming(text: str, bot_user_id: str) -> str:
    """What a person typed, as plain text: the bot's mention removed, Slack's link and mention
    markup turned into what the reader saw, escapes undone. Read once, here: what comes out is
    the person's literal text, and nothing downstream reads it as Slack markup again."""
    text = unwrap(text.replace(f"<@{bot_user_id}>", " "))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines())
