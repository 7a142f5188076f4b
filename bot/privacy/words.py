"""Word lists the name detectors consult: person names of many countries and common English words.

Names: the first and last names of every locale of Faker's person provider (MIT licence; about 80
locales, Latin and other scripts). Common words: the 8,000 most frequent English words of
`wordfreq` (code Apache-2.0, data CC BY-SA 4.0) that are also written in lower case in Webster's
Second (`english-words`, MIT). "mark", "may", "green", "rose" are common words; "john" and "david"
are frequent but not dictionary words, so a contact called John is still masked when written alone.
Each list is loaded once per process (a fraction of a second) and then only read.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

COMMON_WORDS_RANK = 8000
_NAME_ATTRS = {
    "first": ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"),
    "last": ("last_names", "last_names_male", "last_names_female", "last_names_nonbinary"),
}
MONTHS = frozenset("january february march april may june july august september october november december".split())
MONTH_ABBREVIATIONS = frozenset("jan feb mar apr jun jul aug sep sept oct nov dec".split())
WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
WEEKDAY_ABBREVIATIONS = frozenset("mon tue tues wed thu thur thurs fri sat sun".split())
# Words written with a capital in business text that are never a person on their own.
BUSINESS_WORDS = frozenset(
    """ceo cto cfo coo cmo vp svp evp head director manager lead engineer team sales support ops
    finance legal hr it qa pm crm api sla kpi roi q1 q2 q3 q4 fy inc ltd llc gmbh ag sa bv plc corp
    co group holdings labs systems solutions partners deal deals stage lead proposal negotiation
    renewal invoice quote ticket account contact company pipeline forecast email e-mail
    re fwd fw cc bcc subject hi hello hey thanks ok okay pls please fyi asap eod eta""".split()
)


def faker_locales() -> list[str]:
    """Every locale of Faker's person provider."""
    package = importlib.import_module("faker.providers.person")
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.ispkg)


@functools.cache
def person_names(kind: str) -> frozenset[str]:
    """Case-folded first ("first") or last ("last") names of every Faker locale."""
    names: set[str] = set()
    for locale in faker_locales():
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in _NAME_ATTRS[kind]:
            values = getattr(provider, attr, ())
            if isinstance(values, dict):  # some locales weight their names
                values = values.keys()
            if isinstance(values, (list, tuple, set, frozenset, type({}.keys()))):
                names.update(n.casefold() for n in values if isinstance(n, str))
    return frozenset(n for n in names if len(n) >= 2)


@functools.cache
def common_words() -> frozenset[str]:
    """Frequent English words that are ordinary words, and month, weekday and business words."""
    from english_words import get_english_words_set
    from wordfreq import top_n_list

    dictionary = get_english_words_set(["web2"], lower=False)
    frequent = {w for w in top_n_list("en", COMMON_WORDS_RANK) if w.isalpha() and w in dictionary}
    return frozenset(frequent | MONTHS | MONTH_ABBREVIATIONS | WEEKDAYS | WEEKDAY_ABBREVIATIONS | BUSINESS_WORDS)
