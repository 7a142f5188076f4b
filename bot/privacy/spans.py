"""Detected spans and how overlapping detections are resolved."""

from __future__ import annotations

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
    type priority: a company the CRM knows is an organisation even if its name is a first name."""
    ranked = sorted(
        spans,
        key=lambda s: (-(s.end - s.start), s.ref is None, -TYPE_PRIORITY.get(s.entity_type, 0), -s.score, s.start),
    )
    kept: list[Span] = []
    for span in ranked:
        if not any(span.overlaps(k) for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)
