"""Person names that are not in the CRM, found without any downloaded model.

A capitalised word that is a known first name starts a name; following capitalised words (and
particles such as "van der") are its surname. The lexicon is the union of the first-name lists
Faker ships for many locales. First names that are also ordinary words ("Will", "May", "Bill")
count only when a capitalised surname follows; a title ("Mr", "Dr") before a capitalised word
marks a name too.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable

from bot.privacy.spans import Span

LEXICON_LOCALES = (
    "en_US", "en_GB", "en_IE", "en_AU", "en_CA", "en_IN", "de_DE", "de_AT", "fr_FR", "es_ES",
    "es_MX", "it_IT", "nl_NL", "sv_SE", "da_DK", "no_NO", "fi_FI", "pl_PL", "pt_PT", "pt_BR", "cs_CZ",
)
AMBIGUOUS = frozenset(
    """will may june april august mark bill grant sun rose lily joy hope faith grace dawn summer
    autumn ray dean chase pat sue art max don guy rich frank jack page cliff gene lane wade young
    bob victor major king earl miles sterling angel crystal amber ivy iris jade pearl ruby star
    river sky storm stone gay penny holly heather ginger candy sandy rusty lucky buck duke prince
    precious destiny harmony melody justice liberty unique royal asia china india georgia virginia
    carolina jordan paris florence sydney brook brooks hunter taylor cooper parker mason carter
    tucker porter baker fisher walker spencer bishop drew dale glen hall hill marsh price reed
    rob sol tad ted tom van von del della gil norman german french english sage my an al bo
    ana eve ben roman long lee""".split()
)
# Capitalised words that follow a first name but are not surnames.
NOT_SURNAMES = frozenset(
    """the a an and or but to for from at in on of with about this that is was has had will can
    please thanks thank hi hello dear team pro starter enterprise insights automations premium
    support sales monday tuesday wednesday thursday friday saturday sunday january february march
    april may june july august september october november december i we you he she they""".split()
)
PARTICLES = frozenset("van von der den de del della di da du la le dos das ter ten".split())
TITLES = frozenset("mr mrs ms miss dr prof".split())

_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’-]*")


def load_lexicon(locales: Iterable[str] = LEXICON_LOCALES) -> frozenset[str]:
    """Case-folded first names from Faker's person providers."""
    names: set[str] = set()
    for locale in locales:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            names.update(n.casefold() for n in getattr(provider, attr, ()) or ())
    return frozenset(n for n in names if len(n) >= 2)


class NameDetector:
    """Finds likely person names in text by lexicon and capitalisation."""

    def __init__(self, lexicon: frozenset[str]) -> None:
        self._lexicon = lexicon

    def find(self, text: str) -> list[Span]:
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        spans: list[Span] = []
        i = 0
        while i < len(words):
            start, end, word = words[i]
            folded = word.casefold()
            if folded.rstrip(".") in TITLES and i + 1 < len(words) and _capital(words[i + 1][2]):
                # "Dr. Smith", "Ms Jones": the title is not part of the name.
                j, last = _surname(text, words, i + 2, words[i + 1][1])
                spans.append(Span(words[i + 1][0], last, "PERSON", 0.8, "names"))
                i = j
                continue
            if not (_capital(word) and folded in self._lexicon):
                i += 1
                continue
            j, last = _surname(text, words, i + 1, end)
            if text[last - 2:last] in ("'s", "’s"):
                last -= 2  # "Miller's": the possessive is not part of the name
            has_surname = j > i + 1
            if has_surname or (folded not in AMBIGUOUS and not word.isupper()):
                spans.append(Span(start, last, "PERSON", 0.85 if has_surname else 0.6, "names"))
            i = j
        return spans


def _surname(text: str, words: list[tuple[int, int, str]], j: int, last: int) -> tuple[int, int]:
    """Extend a name over the capitalised words (and particles before one) that follow it."""
    taken = 0
    while j < len(words) and taken < 3 and _adjacent(text, last, words[j][0]):
        k, prev = j, last
        while k < len(words) and words[k][2].casefold() in PARTICLES and _adjacent(text, prev, words[k][0]):
            prev, k = words[k][1], k + 1
        candidate = words[k] if k < len(words) and _adjacent(text, prev, words[k][0]) else None
        if candidate is None or not _capital(candidate[2]) or candidate[2].casefold() in NOT_SURNAMES:
            break
        last, j, taken = candidate[1], k + 1, taken + 1
    return j, last


def _capital(word: str) -> bool:
    return word[:1].isupper() and not word.isupper() or (len(word) == 1 and word.isupper())


def _adjacent(text: str, end: int, start: int) -> bool:
    gap = text[end:start]
    return gap in (" ", "\u00a0")
