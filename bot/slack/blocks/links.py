"""How CRM records and knowledge-base passages are referred to in messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from bot.slack.mrkdwn import escape, host_allowed, link


@dataclass(frozen=True)
class Links:
    """URL templates from [slack] in app.toml; empty templates give plain references."""

    record_url: str = ""
    kb_url: str = ""
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, record_url: str, kb_url: str, allowed_hosts: tuple[str, ...]) -> Links:
        hosts = {h.lower() for h in allowed_hosts}
        hosts.update(urlsplit(u.split("{")[0]).hostname or "" for u in (record_url, kb_url) if u)
        return cls(record_url, kb_url, tuple(sorted(h for h in hosts if h)))

    def record(self, kind: str, record_id: int | str, label: str | None = None, crm_url: str | None = None) -> str:
        """`deal 12` (or the label) linked to the record: `slack.record_url` when set, else the CRM's own
        page (`crm_url`) when its host is allowed, else plain text."""
        url = self.record_link(kind, record_id, crm_url)
        text = label or f"{kind} {record_id}"
        return link(url, text) if url else escape(text)

    def record_link(self, kind: str, record_id: int | str, crm_url: str | None = None) -> str | None:
        """The URL a record is linked to, or None when it is named only."""
        if self.record_url:
            return self.record_url.format(kind=kind, id=record_id)
        # A link the guard would strip anyway is not built: the reader sees the name instead.
        return crm_url if crm_url and host_allowed(crm_url, self.allowed_hosts) else None

    def record_ref(self, ref: str) -> str:
        """A result's "kind:id" reference as text or a link."""
        kind, _, record_id = ref.partition(":")
        return self.record(kind, record_id) if record_id else escape(ref)

    def citation(self, citation: str, label: str | None = None) -> str:
        """A knowledge-base citation `path#anchor` (or its label: the article's title and section) as
        text or a link."""
        path, _, anchor = citation.partition("#")
        label = label or (f"{path} › {anchor.replace('-', ' ')}" if anchor else path)
        if not self.kb_url:
            return escape(label)
        return link(self.kb_url.format(path=quote(path), anchor=quote(anchor)), label)


def when(moment: datetime | None, tz: str = "UTC") -> str:
    """A time every reader sees in their own time zone (Slack's date formatting); the fallback text,
    for where Slack cannot format it, in `tz` (the workspace's default time zone)."""
    if moment is None:
        return "-"
    local = moment.astimezone(ZoneInfo(tz)) if moment.tzinfo else moment
    fallback = f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
