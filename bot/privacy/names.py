"""Person names that are not in the CRM, found without any downloaded model.

What chat and CRM text give away, on the normalised view:

- a run of capitalised words (with particles such as "van der", "de", "bin", "al-") is a name when
  it starts with a first name of the lexicon (bot/privacy/words.py: Faker's lists for every
  locale), or when it is in a person position: after "met", "spoke to", "call", "ask", "send",
  "from", "with", "Dear", "Hi", "said", a title ("Dr", "Ms"), before "(title)", or alone on the
  line after a sign-off ("Best regards,");
- in mostly-Latin text, a run of Cyrillic, Greek, Arabic, Hebrew, Hangul, Kana or Han script;
- common English words ("Mark", "May", "Green") are a name only beside another name word.

`keep_word` says which words are never masked as a name: weekday names, and month names or
abbreviations beside a day, a year or a weekday ("Thu 16 Jan", "Jun 5").
"""

from __future__ import annotations

import regex

from bot.privacy.spans import Span
from bot.privacy.words import (
    BUSINESS_WORDS,
    MONTH_ABBREVIATIONS,
    MONTHS,
    WEEKDAY_ABBREVIATIONS,
    WEEKDAYS,
    common_words,
    person_names,
)

PARTICLES = frozenset(
    "van von der den de del della di da du la le dos das do ter ten bin binti bint ibn ben abu al el y e zu af av".split()
)
TITLES = frozenset("mr mrs ms miss mx dr prof sir madam mme mlle herr frau sr sra".split())
# Words after which a capitalised word is a person: the last word before the name.
TRIGGERS = frozenset(
    """met meet meeting spoke speak speaking talked talk talking call called calling ring rang ask
    asked asking send sent from with dear hi hello hey said says told tell thanks thank cc ping
    pinged email emailed mail mailed contact contacted introduce introduced invite invited remind
    reminded by for to and""".split()
)
# Of the triggers, those that also begin ordinary phrases ("for Q4", "to Berlin", "and Pro"): the
# capitalised word after them counts only when it is not a common word and looks like a name.
WEAK_TRIGGERS = frozenset("by for to and from with".split())
SIGN_OFFS = regex.compile(
    r"(?:^|\n)[ \t]*(?:best(?: regards| wishes)?|kind regards|warm regards|regards|thanks|thank you|cheers|"
    r"sincerely|yours(?: sincerely| truly)?|br|--|—)[ \t]*,?[ \t]*\n[ \t]*$",
    regex.IGNORECASE,
)
_OTHER_SCRIPTS = r"\p{Cyrillic}\p{Greek}\p{Arabic}\p{Hebrew}\p{Hangul}\p{Hiragana}\p{Katakana}\p{Han}"
_SCRIPT_RUN = regex.compile(rf"[{_OTHER_SCRIPTS}][{_OTHER_SCRIPTS}\p{{M}}ー'’-]*"
                            rf"(?:[ \u00a0・·][{_OTHER_SCRIPTS}][{_OTHER_SCRIPTS}\p{{M}}ー'’-]*)*")
_LATIN = regex.compile(r"\p{Latin}")
# A word, not part of a code, an address or an e-mail ("GB82", "a.b@c.d").
_WORD = regex.compile(r"(?<![\p{N}_@.])\p{L}[\p{L}\p{M}'’]*(?:-\p{L}[\p{L}\p{M}'’]*)*(?![\p{L}\p{M}\p{N}_@]|\.\w)")
_CONTRACTION = regex.compile(r"['’](?:re|ve|ll|d|m|t)$")
_DAY_OR_YEAR = regex.compile(r"(?:\d{1,2}(?:st|nd|rd|th)?|\d{4})\b")


class NameDetector:
    """Finds likely person names in text by lexicon, position and script."""

    def __init__(self, first: frozenset[str] | None = None, last: frozenset[str] | None = None,
                 common: frozenset[str] | None = None) -> None:
        self._first = person_names("first") if first is None else first
        self._last = person_names("last") if last is None else last
        self._common = common_words() if common is None else common

    def find(self, text: str) -> list[Span]:
        """Likely person names in text (offsets into text)."""
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        spans = self._latin_names(text, words)
        spans += _script_runs(text)
        return spans

    def _latin_names(self, text: str, words: list[tuple[int, int, str]]) -> list[Span]:
        spans: list[Span] = []
        i = 0
        while i < len(words):
            if not _capital(words[i][2]):
                i += 1
                continue
            j = _run_end(text, words, i)
            if j == i + 1 and self._plain_word(words[i][2]) and not (
                    i > 0 and _key(words[i - 1][2]) in TITLES):
                i = j  # one common word, not after a title: never a name (most runs of a record)
                continue
            span = self._judge(text, words, i, j)
            if span is not None:
                spans.append(span)
            i = j
        return spans

    def _judge(self, text: str, words: list[tuple[int, int, str]], i: int, j: int) -> Span | None:
        """A name within the capitalised run words[i:j], if any."""
        run = words[i:j]
        before = _key(words[i - 1][2]) if i > 0 and _near(text, words[i - 1][1], run[0][0], dot=True) else ""
        # Leading common words and titles ("Thanks", "Send", "Dr") are not the name, nor a common
        # word that is a first name before another first name ("Can Zoë Müller?", but "Will Smith");
        # the last one stripped is what precedes the name.
        k = 0
        while k < len(run) and (_key(run[k][2]) in TITLES or k < len(run) - 1 and (
                _key(run[k][2]) in TRIGGERS or self._is_common(run[k][2]) and (
                    _key(run[k][2]) not in self._first or self._first_only(run[k + 1:])))):
            before = _key(run[k][2])
            k += 1
        names = [w for w in run[k:] if not (w[2].islower() and w[2].casefold() in PARTICLES)]
        # A trailing month, weekday or business word is not part of a name ("Ana Friday").
        while names and _never_name(names[-1][2]):
            names.pop()
        if not names:
            return None
        folded = [_key(w[2]) for w in names]
        start, end = names[0][0], names[-1][1]
        if text[end - 2:end] in ("'s", "’s"):
            end -= 2
        common = [self._is_common(w[2]) for w in names]
        first_name = folded[0] in self._first or folded[0].split("-")[0] in self._first
        last_name = any(f in self._last for f in folded[1:]) if len(folded) > 1 else False
        lexicon_word = any(f in self._first or f in self._last for f in folded)
        if before in TITLES:
            return Span(start, end, "PERSON", 0.8, "names")
        if all(common):
            # "Mark", "Grace Hall": only as a whole name of lexicon words in a strong position.
            strong = len(names) > 1 and first_name and last_name
            return Span(start, end, "PERSON", 0.6, "names") if strong else None
        # After "with", "from", "to"...: a lexicon word or two capitalised words that are not
        # common words ("with Bodhild Nilssen", not "to Berlin").
        positional = (before in TRIGGERS and (before not in WEAK_TRIGGERS or lexicon_word or len(names) > 1)) \
            or _followed_by_title(text, end) or _signature(text, start, end)
        if len(names) > 1 and (first_name or last_name or positional and not any(common)):
            return Span(start, end, "PERSON", 0.85, "names")
        if first_name and not common[0] and not names[0][2].isupper():
            return Span(start, end, "PERSON", 0.6, "names")
        if positional and not names[0][2].isupper():
            return Span(start, end, "PERSON", 0.6, "names")
        return None

    def _plain_word(self, word: str) -> bool:
        """A common word that is no first name, or a month, weekday or business word."""
        key = _key(word)
        return key in self._common and key not in self._first or _never_name(word)

    def _first_only(self, rest: list[tuple[int, int, str]]) -> bool:
        """The next name word (particles aside) is a first name and not a surname."""
        for _, _, word in rest:
            if word.islower() and word.casefold() in PARTICLES:
                continue
            return _key(word) in self._first and _key(word) not in self._last
        return False

    def _is_common(self, word: str) -> bool:
        key = _key(word)
        return key in self._common or _CONTRACTION.search(key) is not None


def _run_end(text: str, words: list[tuple[int, int, str]], i: int) -> int:
    """The end of the run of capitalised words starting at words[i] (particles inside it)."""
    j, last, taken = i + 1, words[i][1], 1
    while j < len(words) and taken < 5 and _near(text, last, words[j][0]):
        k, prev = j, last
        while k < len(words) and words[k][2].casefold() in PARTICLES and _near(text, prev, words[k][0]):
            prev, k = words[k][1], k + 1
        if k >= len(words) or not _near(text, prev, words[k][0]) or not _name_word(words[k][2]):
            break
        last, j, taken = words[k][1], k + 1, taken + 1
    return j


def _name_word(word: str) -> bool:
    """Capitalised, or a particle joined by a hyphen to a capitalised word ("al-Rashid")."""
    if _capital(word):
        return True
    head, _, tail = word.partition("-")
    return head.casefold() in PARTICLES and _capital(tail)


def _capital(word: str) -> bool:
    return word[:1].isupper() and (len(word) == 1 or not word.isupper())


def _never_name(word: str) -> bool:
    folded = _key(word)
    return folded in TITLES or folded in MONTHS or folded in WEEKDAYS or folded in BUSINESS_WORDS or folded in WEEKDAY_ABBREVIATIONS


def _near(text: str, end: int, start: int, *, dot: bool = False) -> bool:
    gap = text[end:start]
    return gap in (" ", "\u00a0") or dot and gap == ". "


def _key(word: str) -> str:
    """A word as the lists hold it: case-folded, without a possessive "'s" or a final dot."""
    folded = word.casefold().rstrip(".")
    return folded[:-2] if folded.endswith(("'s", "’s")) else folded


def _followed_by_title(text: str, end: int) -> bool:
    """"Name (CFO)", "Name (Head of Sales)": a bracket holding a word right after the name."""
    return regex.match(r" ?\((?:[A-Z][\w&/ -]{1,40})\)", text[end:end + 44]) is not None


def _signature(text: str, start: int, end: int) -> bool:
    """The name is alone on its line, right after a sign-off line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start:start].strip(" \t-—") or text[end:line_end].strip(" \t,."):
        return False
    return SIGN_OFFS.search(text[max(0, line_start - 40):line_start]) is not None


def _script_runs(text: str) -> list[Span]:
    """Runs of a non-Latin script inside text written mostly in Latin letters."""
    runs = [m for m in _SCRIPT_RUN.finditer(text) if len(m.group()) > 1]  # one letter: mojibake, a bullet
    if not runs:
        return []
    other = sum(len(m.group()) for m in runs)
    if len(_LATIN.findall(text)) < other:
        return []  # the text itself is in that script: no clue which words are names
    return [Span(m.start(), m.end(), "PERSON", 0.6, "names") for m in runs]


def keep_word(text: str, start: int, end: int) -> bool:
    """text[start:end] is a weekday, or a month beside a day, a year or a weekday: never a name."""
    word = text[start:end].casefold().rstrip(".")
    if word in WEEKDAYS or word in WEEKDAY_ABBREVIATIONS and _dated(text, start, end):
        return True
    if word not in MONTHS and word not in MONTH_ABBREVIATIONS:
        return False
    return word in MONTHS and word != "may" or _dated(text, start, end)


def _dated(text: str, start: int, end: int) -> bool:
    after = text[end:end + 12].lstrip(" .,")
    before = text[max(0, start - 14):start].rstrip(" .,")
    if _DAY_OR_YEAR.match(after) or regex.search(r"\b\d{1,2}(?:st|nd|rd|th)?$", before):
        return True
    prev = regex.search(r"(\p{L}+)$", before)
    nxt = regex.match(r"\p{L}+", after)
    return any(w is not None and w.group().casefold() in _DATE_WORDS for w in (prev, nxt))


_DATE_WORDS = WEEKDAYS | WEEKDAY_ABBREVIATIONS | MONTHS | MONTH_ABBREVIATIONS
