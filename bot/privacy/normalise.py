"""The normalised view detection runs on, and the way back to the original text's offsets.

People (and hostile notes) write personal data with invisible characters inside ("jo\u200bhn"),
compatibility forms (full-width digits, ligatures), Unicode dashes and look-alike letters from
other scripts. Detection runs on a view of the text where invisibles are gone, every character
cluster is in NFKC form, dashes are "-" and a CR LF pair is one line break; each character of the
view remembers which characters of the original it came from, so a span found in the view masks
exactly the original characters it covers and nothing else moves.

`skeleton()` additionally folds look-alike letters to their Latin letter, one character for one,
for matching known values: the view itself keeps them, as a run of Cyrillic is itself a clue.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import regex

# Zero-width characters, bidi controls, the soft hyphen, word joiners and the BOM: they change
# nothing a reader sees and must change nothing a detector sees.
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                       "\u2060-\u2064\u2066-\u206f\ufe00-\ufe0f\ufeff]")
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DASH_TO_HYPHEN = str.maketrans({d: "-" for d in DASHES})
# A character that is not plain ASCII, or a CR (of a CR LF pair): only these need work.
_NEEDS_WORK = re.compile(r"[^\x00-\x0c\x0e-\x7f]|\r\n")

# Cyrillic and Greek letters drawn like a Latin letter (Unicode's confusables, one letter for one).
_LOOKALIKES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ɡ": "g", "А": "A", "В": "B", "Е": "E", "Ё": "E", "К": "K", "М": "M", "Н": "H",
    "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ї": "I", "Ј": "J",
    "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Һ": "H", "Ӏ": "l",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "τ": "t", "υ": "u", "ι": "i", "κ": "k", "χ": "x", "ε": "e",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "ı": "i", "ℓ": "l",
}
_SKELETON = str.maketrans(_LOOKALIKES)


@dataclass(frozen=True)
class View:
    """The normalised text, and for each of its characters the original [start, end) it stands for."""

    text: str
    starts: tuple[int, ...] | None  # None: the view is the original text
    ends: tuple[int, ...] | None

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the view's text[start:end] (a non-empty span)."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def normalise(text: str) -> View:
    """The detection view of text; the text itself when it is plain ASCII without CR LF."""
    if _NEEDS_WORK.search(text) is None:
        return View(text, None, None)
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for match in _CLUSTERS.finditer(text):
        begin, end = match.span()
        if begin > last:  # plain ASCII between: one for one
            pieces.append(text[last:begin])
            starts.extend(range(last, begin))
            ends.extend(range(last + 1, begin + 1))
        out = _cluster(match.group())
        if out:
            pieces.append(out)
            starts.extend([begin] * len(out))
            ends.extend([end] * len(out))
        last = end
    pieces.append(text[last:])
    starts.extend(range(last, len(text)))
    ends.extend(range(last + 1, len(text) + 1))
    return View("".join(pieces), tuple(starts), tuple(ends))


# A character with the combining marks on it, a lone non-ASCII character, or CR LF: normalised one
# at a time, so every view character maps back to the one cluster it came from.
_CLUSTERS = regex.compile(r"\r\n|\P{M}\p{M}+|[^\x00-\x7f]")


def _cluster(chunk: str) -> str:
    if chunk == "\r\n":
        return "\n"
    visible = INVISIBLE.sub("", chunk)
    return unicodedata.normalize("NFKC", visible).translate(_DASH_TO_HYPHEN)


def skeleton(text: str) -> str:
    """Look-alike Cyrillic and Greek letters as the Latin letter they imitate, one for one."""
    return text if text.isascii() else text.translate(_SKELETON)
