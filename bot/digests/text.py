"""A digest as plain text, for the terminal (`python -m bot digest preview NAME`)."""

from __future__ import annotations

from bot.records import Digest


def as_text(digest: Digest, *, lines_per_section: int) -> str:
    """The digest as the terminal shows it: the same sections and lines as the Slack message."""
    out = [f"Digest {digest.name} for {digest.channel}, since {digest.since:%Y-%m-%d %H:%M} UTC"]
    if digest.catching_up:
        out.append(f"(catching up: {digest.missed} missed runs coalesced)")
    if digest.summary:
        out += ["", digest.summary]
    if digest.empty:
        out += ["", "Nothing to report: every section is empty."]
    for section in digest.sections:
        out += ["", f"{section.title} ({section.total})"]
        if section.note:
            out.append(f"  {section.note}")
        for line in section.lines[:lines_per_section]:
            ref = f" [{line.record[0]} {line.record[1]}]" if line.record else ""
            owner = f" ({line.owner})" if line.owner else ""
            out.append(f"  - {line.text}{ref}{owner}")
        if section.total > lines_per_section:
            out.append(f"  ... and {section.total - min(lines_per_section, len(section.lines)):,} more (in the thread when posted)")
    return "\n".join(out)
