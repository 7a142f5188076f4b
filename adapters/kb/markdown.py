"""Split Markdown and text articles into titled sections with GitHub-style anchors."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Section:
    heading: str
    anchor: str
    body: str


@dataclass(frozen=True)
class Article:
    title: str
    sections: tuple[Section, ...]


def slugify(heading: str) -> str:
    """Anchor of a heading as GitHub renders it: lower case, punctuation dropped, spaces to -."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def parse(text: str, fallback_title: str, *, markdown: bool) -> Article:
    """Split text into sections at headings (Markdown) or keep it whole (plain text).

    The first level-1 heading is the title; text before any heading belongs to a section
    headed by the title. Headings inside fenced code blocks are not headings.
    """
    if not markdown:
        body = text.strip()
        return Article(fallback_title, (Section(fallback_title, "", body),) if body else ())
    title = None
    parts: list[tuple[str, list[str]]] = [("", [])]
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            level, heading = len(match.group(1)), match.group(2).strip()
            if level == 1 and title is None:
                title = heading
                continue
            parts.append((heading, []))
        else:
            parts[-1][1].append(line)
    title = title or fallback_title
    sections: list[Section] = []
    seen: dict[str, int] = {}
    for heading, lines in parts:
        body = "\n".join(lines).strip()
        if not body and not heading:
            continue
        slug = slugify(heading) if heading else ""
        if slug:
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            slug = f"{slug}-{count}" if count else slug
        sections.append(Section(heading or title, slug, body))
    return Article(title, tuple(sections))


def title_from_filename(name: str) -> str:
    """"refund-policy.md" -> "Refund policy"."""
    stem = name.rsplit(".", 1)[0].replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else name
