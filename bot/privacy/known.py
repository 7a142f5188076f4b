"""Known entities from the CRM (names, e-mails, phones, companies) matched with Aho-Corasick.

One automaton over every value, matched case-insensitively on word boundaries: its cost depends
on the length of the text, not on how many contacts the CRM holds.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import ahocorasick

from bot.privacy.spans import Span

MIN_LENGTH = 4


class DirectoryEntryLike(Protocol):
    """What the index needs of a CRM directory entry (adapters.crm.base.DirectoryEntry)."""

    kind: str
    id: int
    names: tuple[str, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]


@dataclass(frozen=True)
class KnownEntity:
    """A value to mask wherever it appears, and the CRM record it belongs to."""

    entity_type: str
    text: str
    ref: str


class KnownEntityIndex:
    """Immutable automaton over known values; build a new one to take in CRM changes."""

    def __init__(self, entities: Iterable[KnownEntity]) -> None:
        automaton = ahocorasick.Automaton()
        values: dict[str, tuple[str, str | None]] = {}
        for entity in entities:
            key = " ".join(_lower(entity.text).split())
            if len(key) < MIN_LENGTH:
                continue
            previous = values.get(key)
            # The same text on two records (two "John Smith"s) is still PII, but of no one record.
            ref = entity.ref if previous is None or previous[1] == entity.ref else None
            values[key] = (entity.entity_type, ref)
        for key, (entity_type, ref) in values.items():
            automaton.add_word(key, (len(key), entity_type, ref))
        if values:
            automaton.make_automaton()
        self._automaton = automaton
        self._size = len(values)

    def __len__(self) -> int:
        return self._size

    def find(self, text: str) -> list[Span]:
        """Every known value in text, on word boundaries (overlaps are resolved later)."""
        if not self._size:
            return []
        folded = _lower(text)
        spans = []
        for end_index, (length, entity_type, ref) in self._automaton.iter(folded):
            start, end = end_index - length + 1, end_index + 1
            if _boundary(folded, start - 1) and _boundary(folded, end):
                spans.append(Span(start, end, entity_type, 1.0, "crm", ref))
        return spans


def _lower(text: str) -> str:
    """Lower case without accents, one character for one so offsets stay valid."""
    lowered = text.lower()
    if len(lowered) != len(text):
        # A few letters (İ) grow when lower-cased.
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if lowered.isascii():
        return lowered
    # Only the non-ASCII characters are looked at: one dash in a 2 KB record must not cost a
    # Unicode decomposition per character.
    return _NON_ASCII.sub(lambda m: _base(m.group()), lowered)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@functools.lru_cache(maxsize=4096)
def _base(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return decomposed[0] if decomposed and not unicodedata.combining(decomposed[0]) else char


def _boundary(text: str, index: int) -> bool:
    return index < 0 or index >= len(text) or not (text[index].isalnum() or text[index] in "_@")


def entities_from_directory(entries: Iterable[DirectoryEntryLike], *, company_names: bool) -> Iterator[KnownEntity]:
    """Known entities from a CRM directory: names, e-mails and phones, company names if wanted."""
    for entry in entries:
        ref = f"{entry.kind}:{entry.id}"
        if entry.kind == "contact":
            for name in entry.names:
                yield KnownEntity("PERSON", name, ref)
        elif company_names:
            for name in entry.names:
                yield KnownEntity("ORGANIZATION", name, ref)
        for email in entry.emails:
            yield KnownEntity("EMAIL_ADDRESS", email, ref)
        for phone in entry.phones:
            yield KnownEntity("PHONE_NUMBER", phone, ref)


class KnownEntitySource:
    """The current index, rebuilt from the CRM on refresh(); readers never see a half-built one."""

    def __init__(self, directory: Callable[[], Iterable[DirectoryEntryLike]], *, company_names: bool) -> None:
        self._directory = directory
        self._company_names = company_names
        self._index = KnownEntityIndex(())

    def refresh(self) -> int:
        """Rebuild from the CRM; returns how many values the index holds."""
        index = KnownEntityIndex(entities_from_directory(self._directory(), company_names=self._company_names))
        self._index = index
        return len(index)

    def __call__(self) -> KnownEntityIndex:
        return self._index
