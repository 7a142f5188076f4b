"""Detected spans and how overlapping detections are resolved."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

# When two detections cover exactly the same text, the higher entry wins: a 10-digit number is a
# phone before it is an NHS number, an e-mail before the URL inside it.
TYPE_PRIORITY = {
    "EMAIL_ADDRESS": 90, "IBAN_CODE": 85, "CREDIT_CARD": 80, "IP_ADDRESS": 75, "PHONE_NUMBER": 70,
    "PERSON": 60, "ORGANIZATION": 50, "US_SSN": 40, "UK_NINO": 38, "ES_NIF": 36, "IT_FISCAL_CODE": 34,
    "UK_NHS": 30, "URL": 10,
}

# The bot's own placeholders, in the forms models write them back: <PERSON_1>, PERSON_1,
# <person_1>, [PERSON_1], and followed by 's.
PLACEHOLDER = re.compile(r"[<\[]?\b([A-Za-z]+(?:_[A-Za-z]+)*)_(\d{1,6})\b[>\]]?")


class DetectionError(Exception):
    """Detection failed; nothing may be sent to the model (fail closed)."""


@dataclass(frozen=True)
class Span:
    """A piece of personal data at text[start:end]; ref names the CRM record when known."""

    start: int
    end: int
    entity_type: str
    score: float
    source: str
    ref: str | None = None

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Keep non-overlapping spans: longer first, then known (from the CRM) over guessed, then by
    type priority: a company the CRM knows is an organisation even if its name is a first name.

    Two overlapping names where neither covers the other ("Zoë Müller, Zoë" against "Müller, Zoë")
    become one span over both: dropping the shorter would leave its other words unmasked."""
    ranked = sorted(
        spans,
        key=lambda s: (-(s.end - s.start), s.ref is None, -TYPE_PRIORITY.get(s.entity_type, 0), -s.score, s.start),
    )
    # The kept spans never overlap, so sorted by start they are sorted by end too: the ones a span
    # overlaps are found by bisection (a 5 KB record has hundreds of candidate spans).
    starts: list[int] = []
    kept: list[Span] = []
    for span in ranked:
        first = max(0, bisect.bisect_right(starts, span.start) - 1)
        last = bisect.bisect_left(starts, span.end)
        hits = [k for k in kept[first:last] if span.overlaps(k)]
        if not hits:
            at = bisect.bisect_left(starts, span.start)
            starts.insert(at, span.start)
            kept.insert(at, span)
        elif span.entity_type in NAME_TYPES and all(k.entity_type in NAME_TYPES for k in hits) \
                and not _covered(span, hits):
            refs = {k.ref for k in hits} | {span.ref}
            union = Span(min(span.start, hits[0].start), max(span.end, hits[-1].end), hits[0].entity_type,
                         max(k.score for k in hits), hits[0].source, refs.pop() if len(refs) == 1 else None)
            at = kept.index(hits[0])
            del kept[at:at + len(hits)], starts[at:at + len(hits)]
            starts.insert(at, union.start)
            kept.insert(at, union)
    return kept


NAME_TYPES = frozenset({"PERSON", "ORGANIZATION"})


def _covered(span: Span, by: list[Span]) -> bool:
    """Every character of span lies in one of by (which do not overlap each other)."""
    position = span.start
    for k in by:  # in order of start
        if k.start > position:
            return False
        position = max(position, k.end)
    return position >= span.end
