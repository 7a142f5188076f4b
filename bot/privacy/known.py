"""Known entities from the CRM (names, e-mails, phones, companies) matched with Aho-Corasick.

One automaton over every value, matched case-, accent- and look-alike-insensitively on word
boundaries, with hyphens and line breaks read as spaces: its cost depends on the length of the
text, not on how many contacts the CRM holds. Besides whole values:

- a contact's first name or surname alone, when written with a capital and not a common word
  ("Mark", "May", "Green" are common words and stay); two capitalised words that are one
  contact's name reversed are one span ("Kohl Sylvester", "Kohl, Sylvester");
- a phone in any national or international form, with or without separators: phones are indexed
  by their national significant number (not as text), and a run of digit groups matches when it
  ends with one and what comes before is nothing, a trunk "0" or the country code (with 00/011).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import ahocorasick
import regex
import phonenumbers

from bot.privacy.normalise import skeleton
from bot.privacy.spans import Span
from bot.privacy.words import common_words

MIN_LENGTH = 4
MIN_PART_LENGTH = 3  # a first name or surname alone
MIN_PHONE_DIGITS = 6  # the shortest national significant number indexed


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

    def __init__(self, entities: Iterable[KnownEntity], common: frozenset[str] | None = None) -> None:
        automaton = ahocorasick.Automaton()
        values: dict[str, tuple[str, str | None]] = {}
        parts: dict[str, str | None] = {}
        phones: dict[str, tuple[frozenset[str], str | None]] = {}
        for entity in entities:
            if entity.entity_type == "PHONE_NUMBER" and _add_phone(phones, entity):
                continue  # found by its digits in any form (_find_phones), not as text
            key = " ".join(_lower(entity.text).split())
            if entity.entity_type == "PERSON":
                for part in _TOKEN.findall(key):
                    if len(part) >= MIN_PART_LENGTH:
                        parts[part] = entity.ref if parts.get(part, entity.ref) == entity.ref else None
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
        stop = common_words() if common is None and parts else (common or frozenset())
        self._automaton = automaton
        self._size = len(values)
        self._parts = {k: v for k, v in parts.items() if k not in stop}
        self._phones = phones
        self._phone_lengths = sorted({len(k) for k in phones}, reverse=True)

    def __len__(self) -> int:
        """How many values the index holds: texts in the automaton and phones by their digits."""
        return self._size + len(self._phones)

    def find(self, text: str) -> list[Span]:
        """Every known value in text, on word boundaries (overlaps are resolved later)."""
        if not self._size and not self._phones:
            return []
        folded = _lower(text)
        spans = []
        if self._size:
            for end_index, (length, entity_type, ref) in self._automaton.iter(folded):
                start, end = end_index - length + 1, end_index + 1
                if _boundary(folded, start - 1) and _boundary(folded, end):
                    spans.append(Span(start, end, entity_type, 1.0, "crm", ref))
        if self._parts:
            spans += self._find_parts(text, folded)
        if self._phones:
            spans += self._find_phones(text)
        return spans

    def _find_parts(self, text: str, folded: str) -> list[Span]:
        """Capitalised first names and surnames of contacts alone, and two capitalised words that
        are one contact's name reversed ("Kohl Sylvester", "Kohl, Sylvester") as one span, common
        words or not ("Booth, Graham")."""
        words = [(m.start(), m.end(), folded[m.start():m.end()]) for m in _CAPITALISED.finditer(text)]
        spans: list[Span] = []
        i = 0
        while i < len(words):
            start, end, word = words[i]
            # Not when this word ends a name written first-name first ("Zoë Müller, Zoë Müller").
            forward = i > 0 and self._size and folded[words[i - 1][1]:start] == " " \
                and self._automaton.get(f"{words[i - 1][2]} {word}", None) is not None
            if i + 1 < len(words) and self._size and not forward and folded[end:words[i + 1][0]] in (" ", ", "):
                whole = self._automaton.get(f"{words[i + 1][2]} {word}", None)
                if whole is not None and whole[1] == "PERSON":
                    spans.append(Span(start, words[i + 1][1], "PERSON", 0.95, "crm", whole[2]))
                    i += 2
                    continue
            ref = self._parts.get(word, _ABSENT)
            if ref is not _ABSENT:
                spans.append(Span(start, end, "PERSON", 0.9, "crm", ref))  # type: ignore[arg-type]
            i += 1
        return spans

    def _find_phones(self, text: str) -> list[Span]:
        """Known phones written in any form: the longest known number in each run of digit groups."""
        spans: list[Span] = []
        for run in _DIGIT_RUN.finditer(text):
            groups = [(m.start() + run.start(), m.end() + run.start(), m.group()) for m in _DIGITS.finditer(run.group())]
            i = 0
            while i < len(groups):
                best = None
                digits = ""
                for j in range(i, len(groups)):
                    digits += groups[j][2]
                    if len(digits) > 17:
                        break
                    hit = self._phone(digits)
                    if hit is not None:
                        best = (j, hit[0])
                if best is None:
                    i += 1
                    continue
                j, ref = best
                start = groups[i][0]
                if i == 0 and text[run.start()] == "+":
                    start = run.start()
                spans.append(Span(start, groups[j][1], "PHONE_NUMBER", 1.0, "crm", ref))
                i = j + 1
        return spans

    def _phone(self, digits: str) -> tuple[str | None] | None:
        """(ref,) of the known phone these digits write (ref None when two records share it), or None."""
        for length in self._phone_lengths:
            if len(digits) < length:
                continue
            entry = self._phones.get(digits[len(digits) - length:])
            if entry is not None and digits[:len(digits) - length] in entry[0]:
                return (entry[1],)
        return None


_ABSENT = object()
_TOKEN = re.compile(r"[^\W\d_]+")
# A word starting with a capital, as _TOKEN splits words (a letter run; a mark inside stays in it).
_CAPITALISED = regex.compile(r"(?<![^\W\d_])\p{Lu}[^\W\d_]*")
# Digit groups joined by the separators people put in phone numbers, on one line.
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d .\-/_·()]*\d")
_DIGITS = re.compile(r"\d+")
_NOT_DIGITS = re.compile(r"\D+")


@functools.lru_cache(maxsize=512)
def _prefixes(code: str) -> frozenset[str]:
    """What may stand before a national number of this country code: nothing, the trunk "0", the
    code with or without an international prefix (00, 011) and with the trunk "(0)" kept."""
    if not code:
        return frozenset({"", "0"})
    return frozenset({"", "0", code, "00" + code, code + "0", "00" + code + "0", "011" + code})


def _country_code(digits: str) -> str:
    for length in (1, 2, 3):
        if int(digits[:length] or 0) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[:length]
    return ""


def _add_phone(phones: dict[str, tuple[frozenset[str], str | None]], entity: KnownEntity) -> bool:
    """Index a phone by its national significant number, with the prefixes it may be written with;
    False when it has too few digits to be told apart from other numbers."""
    digits = _NOT_DIGITS.sub("", entity.text)
    code = _country_code(digits) if entity.text.lstrip().startswith("+") else ""
    if code:
        # Country codes are prefix-free: what follows is the national significant number (parsing
        # every CRM phone with phonenumbers would cost seconds per rebuild at 100k contacts).
        national = digits[len(code):]
    else:
        try:
            number = phonenumbers.parse(entity.text, "US")
            national = phonenumbers.national_significant_number(number)
            code = str(number.country_code)
        except phonenumbers.NumberParseException:
            national = digits
    if len(national) < MIN_PHONE_DIGITS:
        return False
    prefixes = _prefixes(code)
    previous = phones.get(national)
    if previous is None:
        phones[national] = (prefixes, entity.ref)
    else:
        phones[national] = (previous[0] | prefixes, entity.ref if previous[1] == entity.ref else None)
    return True


def _lower(text: str) -> str:
    """Lower case without accents or look-alikes, hyphens and line breaks as spaces, one character
    for one so offsets stay valid."""
    text = skeleton(text)
    if _SPACE_LIKE.search(text) is not None:
        text = text.translate(_SPACES)
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
_SPACES = str.maketrans({"-": " ", "\n": " ", "\t": " ", "\r": " "})
_SPACE_LIKE = re.compile(r"[-\n\t\r]")


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
