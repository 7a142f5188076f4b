"""Slack's mrkdwn, both ways: a person's message read as plain text, model text made safe for
Slack and cut to Slack's size limits.

Slack reads `<...>` as control sequences (`<!channel>` notifies everyone, `<url|label>` hides
where a link goes), so everything the model writes is escaped, and only links to allowed hosts
survive as links. A link to any other host, bracketed or bare, is replaced by a visible
"[link removed: host]" with the host defanged (`evil[.]example`), since Slack clients turn a
bare URL or domain/path back into a link. Markdown the model tends to write (`**bold**`,
`[label](url)`, `# heading`) is turned into its mrkdwn form first.

`guard` is the last gate before Slack: applied to every text and mrkdwn object the bot sends,
it keeps only our own markup (user and channel mentions, dates, links to allowed hosts), so a
fallback `text` can never carry more than the escaped blocks beside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

SECTION_LIMIT = 3000  # characters of text in one section block

_MD_LINK = re.compile(r"\[([^\]\n]{1,300})\]\((https?://[^\s)]{1,2000})\)")
_SLACK_LINK = re.compile(r"<(https?://[^|>\s]{1,2000})(?:\|([^>\n]{0,300}))?>")
_SLACK_MARKUP = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")  # what Slack wraps in <...>: links, mentions
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_TOKEN = "\x00{}\x00"
_ANGLED = re.compile(r"<([^<>]*)>")
# Our own markup: mentions, channels, dates (never a date's optional link, which could go anywhere).
_OURS = re.compile(r"(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|!date\^\d+\^[^|<>^]*)(?:\|[^<>]*)?")
# Whatever Slack clients would turn into a link: scheme or www. URLs, and domain/path forms.
_BARE_URL = re.compile(r"(?i)(?:\bhttps?://|\bwww\.)[^\s<>|\"`]+"
                       r"|(?<![@\w.-])(?:[a-z0-9-]+\.)+[a-z]{2,63}/[^\s<>|\"`]*")
_URL_END = re.compile(r"&(?:gt|lt|quot);|\x00")
_TRAILING = ".,;:!?)]}'*_~"


SLACK_HOSTS = ("slack.com",)  # Slack's own pages: permalinks to messages in the workspace


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
        label = scrub_urls((label or "").strip(), allowed)
        if not host_allowed(url, allowed):
            removed = _removed(url)
            return f"{label} {removed}" if label and label != url else removed
        kept.append(link(url, label) if label else f"<{url}>")
        return _TOKEN.format(len(kept) - 1)

    text = _MD_LINK.sub(lambda m: keep(m.group(2), m.group(1)), text)
    text = _SLACK_LINK.sub(lambda m: keep(m.group(1), m.group(2)), text)
    text = escape(scrub_urls(text, allowed))
    text = _BOLD.sub(r"*\1*", text)
    text = _HEADING.sub(r"*\1*", text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def scrub_urls(text: str, allowed_hosts: Iterable[str]) -> str:
    """Bare URLs (and domain/path forms) to hosts not allowed replaced by "[link removed: host]"."""
    allowed = tuple(h.lower() for h in allowed_hosts)

    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        end = _URL_END.search(url)
        url = url[:end.start()] if end else url
        url = url.rstrip(_TRAILING)
        rest = match.group(0)[len(url):]
        full = url if "://" in url else "http://" + url
        return (url if host_allowed(full, allowed) else _removed(full)) + rest

    return _BARE_URL.sub(one, text)


def _removed(url: str) -> str:
    """What stands in for a link to a host that is not allowed: the host, defanged so no client links it."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    host = re.sub(r"[^\w.-]", "", host)[:100].replace(".", "[.]")
    return f"[link removed: {host}]" if host else "[link removed]"


def defang_urls(text: str) -> str:
    """Every URL (and domain/path form) written out in full but so that no client links it and
    `guard` leaves it whole: `https://evil.example/a?b` -> `hxxps://evil[.]example/a?b`. For text a
    person must read exactly, such as an e-mail before it is approved."""
    return _BARE_URL.sub(lambda m: re.sub(r"(?i)^http", "hxxp", m.group(0)).replace(".", "[.]"), text)


def guard(text: str, allowed_hosts: Iterable[str]) -> str:
    """Text (plain or mrkdwn) as Slack may receive it: our own markup kept (user and channel
    mentions, dates, links to allowed hosts), every other `<`, `>` escaped, and links to other
    hosts removed. Idempotent, so text that is guarded twice stays the same."""
    allowed = tuple(h.lower() for h in allowed_hosts)
    text = text.replace("\x00", "")
    kept: list[str] = []

    def angled(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, bar, label = inner.partition("|")
        if _OURS.fullmatch(inner) or (target.startswith(("http://", "https://")) and host_allowed(target, allowed)
                                      and not any(c.isspace() for c in target)):
            kept.append(f"<{target}{bar}{scrub_urls(label, allowed)}>")
            return _TOKEN.format(len(kept) - 1)
        return f"&lt;{inner}&gt;"

    text = _ANGLED.sub(angled, text).replace("<", "&lt;").replace(">", "&gt;")
    text = scrub_urls(text, allowed)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def guard_blocks(value: Any, allowed_hosts: Iterable[str]) -> Any:
    """Blocks or a view with every mrkdwn text guarded, and links removed from plain text too
    (plain_text shows `&lt;` literally, so it is not escaped)."""
    if isinstance(value, list):
        return [guard_blocks(v, allowed_hosts) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: guard_blocks(v, allowed_hosts) for k, v in value.items()}
    if isinstance(out.get("text"), str) and out.get("type") in ("mrkdwn", "plain_text"):
        out["text"] = (guard if out["type"] == "mrkdwn" else scrub_urls)(out["text"], allowed_hosts)
    # A link button's URL is a link too: kept only to an allowed host or Slack's own pages (a
    # card's permalink); otherwise the button stays, without the link.
    if isinstance(out.get("url"), str) and not host_allowed(out["url"], (*allowed_hosts, *SLACK_HOSTS)):
        del out["url"]
    return out


def cap(text: str, limit: int) -> str:
    """Text of at most limit characters, plus a note saying where it was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit].rstrip()}\n\n… the answer was cut at {limit:,} characters"


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
