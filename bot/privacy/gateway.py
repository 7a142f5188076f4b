"""Masking and unmasking: the only way text reaches the model, and back.

mask_* replaces personal data with the conversation's placeholders; unmask_arguments puts real
values back into tool arguments, value by value, and refuses placeholders the vault never issued;
unmask_text does the same for text a person reads. Placeholder-looking text a user types is
neutralised first, so nobody can make a tool reveal a value by naming its placeholder.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.privacy.spans import PLACEHOLDER, TYPE_PRIORITY, Span
from bot.privacy.vault import Vault

# Fields of CRM records whose string values are personal data whatever a detector says.
# ("name" is not among them: deals and companies have names too.)
PII_FIELDS = {
    "full_name": "PERSON", "first_name": "PERSON", "last_name": "PERSON",
    "contact": "PERSON", "aliases": "PERSON", "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER",
}


class SpanDetector(Protocol):
    def detect(self, text: str) -> list[Span]: ...


class UnknownPlaceholder(Exception):
    """A tool argument names a placeholder this conversation never issued; the tool must not run."""


@dataclass(frozen=True)
class Masked:
    text: str
    entities: tuple[tuple[str, int, int, str], ...]  # (type, start, end, placeholder), offsets into the input


def neutralise(text: str) -> str:
    """Turn placeholder-looking text from a user into inert words: <PERSON_1> -> PERSON 1."""
    return PLACEHOLDER.sub(
        lambda m: f"{m.group(1)} {m.group(2)}" if m.group(1).upper() in TYPE_PRIORITY else m.group(0), text
    )


class Gateway:
    """Masks what goes to the model and unmasks what comes back, for one detector."""

    def __init__(self, detector: SpanDetector) -> None:
        self._detector = detector

    def mask_text(self, vault: Vault, text: str) -> Masked:
        """Replace detected personal data with placeholders (raises DetectionError on failure)."""
        return self._replace(vault, [text], [self._detector.detect(text)])[0]

    def mask_user_text(self, vault: Vault, text: str) -> str:
        """A person's message (plain text, as they typed it): typed placeholders neutralised, then masked."""
        return self.mask_text(vault, neutralise(text)).text

    def mask_value(self, vault: Vault, value: Any) -> Any:
        """JSON-aware masking of a tool result: every string, and PII fields by their key.

        All strings are detected in one pass over their concatenation (one detector call instead
        of one per field) and get their placeholders in one vault write. Values that are exactly
        an ISO 8601 date or timestamp are left out: they cannot hold the personal data detected
        here, and their digits cost the phone recognizer about half of its time on a CRM record.
        """
        leaves: list[tuple[str, str | None]] = []
        _collect(value, None, leaves)
        texts = [text for text, _ in leaves]
        masked = iter(self._replace(vault, texts, self._detect_many(texts), forced=[
            PII_FIELDS.get((key or "").lower()) for _, key in leaves
        ]))
        return _rebuild(value, None, masked)

    def _detect_many(self, texts: list[str]) -> list[list[Span]]:
        if len(texts) <= 1:
            return [self._detector.detect(t) for t in texts]
        starts, position = [], 0
        for text in texts:
            starts.append(position)
            position += len(text) + len(_SEPARATOR)
        spans = self._detector.detect(_SEPARATOR.join(texts))
        per_text: list[list[Span]] = [[] for _ in texts]
        redo: set[int] = set()
        for span in spans:
            i = bisect.bisect_right(starts, span.start) - 1
            if span.end > starts[i] + len(texts[i]):
                redo.add(i)  # a detection reaching across two values: look at this value alone
                continue
            per_text[i].append(dataclasses.replace(span, start=span.start - starts[i], end=span.end - starts[i]))
        for i in redo:
            per_text[i] = self._detector.detect(texts[i])
        return per_text

    def _replace(self, vault: Vault, texts: list[str], spans: list[list[Span]],
                 forced: list[str | None] | None = None) -> list[Masked]:
        """Placeholders for every span (one vault write), and each text rebuilt with them.

        A forced type (a PII field such as "email") masks the whole value unless the detector
        already found it to be exactly one entity."""
        forced = forced or [None] * len(texts)
        whole = [
            kind is not None and text.strip() != "" and not (
                len(found) == 1 and text[found[0].start:found[0].end].strip() == text.strip())
            for text, found, kind in zip(texts, spans, forced, strict=True)
        ]
        items = []
        for text, found, kind, replace_all in zip(texts, spans, forced, whole, strict=True):
            items += [(kind, text, None)] if replace_all else [(s.entity_type, text[s.start:s.end], s.ref) for s in found]
        placeholders = iter(vault.assign(items) if items else [])
        out = []
        for text, found, kind, replace_all in zip(texts, spans, forced, whole, strict=True):
            if replace_all:
                placeholder = next(placeholders)
                out.append(Masked(placeholder, ((kind or "", 0, len(text), placeholder),)))
                continue
            pieces, last, entities = [], 0, []
            for span in found:
                placeholder = next(placeholders)
                pieces += [text[last:span.start], placeholder]
                entities.append((span.entity_type, span.start, span.end, placeholder))
                last = span.end
            out.append(Masked("".join(pieces) + text[last:], tuple(entities)))
        return out

    def unmask_arguments(self, vault: Vault, value: Any) -> Any:
        """Real values back into tool arguments, string by string; unknown placeholders raise."""
        if isinstance(value, Mapping):
            return {k: self.unmask_arguments(vault, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.unmask_arguments(vault, v) for v in value]
        if isinstance(value, str):
            return _substitute(vault, value, strict=True)
        return value

    def unmask_text(self, vault: Vault, text: str) -> str:
        """Real values back into text a person reads; unknown placeholders stay as they are.

        A link whose address holds a placeholder (raw, bracketed, URL-encoded, in a Slack
        `<url|label>` or a Markdown `[label](url)`) is replaced whole by "[link removed]": a note
        or article that makes the model write `https://host/?e=<EMAIL_ADDRESS_1>` must not get
        the real address sent anywhere by whoever opens, previews or unfurls the link."""
        return _substitute(vault, drop_placeholder_links(text), strict=False)


# Between values joined for one detector pass: a paragraph break, which recognizers rarely match
# across (a detection that does is redone on the value alone).
_SEPARATOR = "\n\n"


# A whole value in the form records serialise dates and times to (read_tools' json_value).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?")


def _maskable(value: Any, key: str | None) -> bool:
    """A string leaf that goes through detection: not blank, and not a bare timestamp unless its
    key says it is personal data."""
    return (isinstance(value, str) and value.strip() != ""
            and ((key or "").lower() in PII_FIELDS or _TIMESTAMP.fullmatch(value) is None))


def _collect(value: Any, key: str | None, leaves: list[tuple[str, str | None]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _collect(v, str(k), leaves)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect(v, key, leaves)
    elif _maskable(value, key):
        leaves.append((value, key))


def _rebuild(value: Any, key: str | None, masked: Iterator[Masked]) -> Any:
    if isinstance(value, Mapping):
        return {k: _rebuild(v, str(k), masked) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rebuild(v, key, masked) for v in value]
    if _maskable(value, key):
        return next(masked).text
    return value


LINK_REMOVED = "[link removed]"
# A placeholder as it may be written inside a link: <TYPE_1>, TYPE_1, [TYPE_1].
_IN_LINK = r"(?:<[A-Za-z_]+_\d{1,6}>|\[[A-Za-z_]+_\d{1,6}\])"
# The address part of a link: up to white space or a quote, through bracketed placeholders.
_ADDRESS = rf"(?:{_IN_LINK}|[^\s<>|\"'`\[\]()]|\((?:{_IN_LINK}|[^\s<>|()])*\))+"
_LINKS = re.compile(
    rf"<(?:(?:[a-z][a-z0-9+.-]*:|www\.)(?:{_IN_LINK}|[^<>|])*)(?:\|(?:{_IN_LINK}|[^<>])*)?>"  # Slack <url|label>
    rf"|\[[^\]\n]*\]\((?:{_IN_LINK}|[^\s()]|\([^\s()]*\))*\)"  # Markdown [label](url)
    rf"|\b(?:[a-z][a-z0-9+.-]*://|www\.|mailto:|tel:){_ADDRESS}"  # a bare address
    rf"|\b(?:[a-z0-9-]+\.)+[a-z]{{2,}}(?::\d+)?/{_ADDRESS}",  # a bare domain and path, which Slack links too
    re.IGNORECASE,
)


_TRAILING = re.compile(r"[.,;:!?]*$")


def drop_placeholder_links(text: str) -> str:
    """Every link whose address holds a placeholder, in any encoding, replaced by "[link removed]"."""

    def check(match: re.Match[str]) -> str:
        link = match.group(0)
        if link.startswith("<") and "|" in link:
            link = link[:link.rindex("|")]  # a Slack label is shown, not sent anywhere
        elif link.startswith("["):
            link = link[link.index("]("):]
        if not _holds_placeholder(link):
            return match.group(0)
        # Sentence punctuation after a bare address is kept.
        return LINK_REMOVED + _TRAILING.search(match.group(0)).group(0)  # type: ignore[union-attr]

    return _LINKS.sub(check, text)


def _holds_placeholder(link: str) -> bool:
    for _ in range(4):  # double and triple encoding too
        if any(m.group(1).upper() in TYPE_PRIORITY for m in PLACEHOLDER.finditer(link)):
            return True
        decoded = urllib.parse.unquote_plus(link)
        if decoded == link:
            return False
        link = decoded
    return True  # still encoded after four rounds: nothing a person needs


def _substitute(vault: Vault, text: str, *, strict: bool) -> str:
    def real(match: re.Match[str]) -> str:
        entity_type = match.group(1).upper()
        if entity_type not in TYPE_PRIORITY:
            return match.group(0)
        value = vault.value_of(entity_type, int(match.group(2)))
        if value is None:
            if strict:
                raise UnknownPlaceholder(
                    f"{match.group(0)} is not a placeholder of this conversation; use only the "
                    "placeholders that appear in the conversation"
                )
            return match.group(0)
        return value

    return PLACEHOLDER.sub(real, text)
