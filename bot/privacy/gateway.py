"""Masking and unmasking: the only way text reaches the model, and back.

mask_* replaces personal data with the conversation's placeholders; unmask_arguments puts real
values back into tool arguments, value by value, and refuses placeholders the vault never issued;
unmask_text does the same for text a person reads. Placeholder-looking text a user types is
neutralised first, so nobody can make a tool reveal a value by naming its placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


class SpanDetector(Protocol):
    def detect(self, text: str) -> list[Span]: ...


class UnknownPlaceholder(Exception):
    """A tool argument names a placeholder this conversation never issued; the tool must not run."""


@dataclass(frozen=True)
class Masked:
    text: str
    entities: tuple[tuple[str, int, int, str], ...]  # (type, start, end, placeholder), offsets into the input


def unwrap_slack(text: str) -> str:
    """Slack markup to plain text: <mailto:a@b.c|a@b.c> -> a@b.c, <@U1> -> @U1, <url|label> -> label (url)."""

    def plain(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "#")):
            return f"{target[0]}{label}" if label else target
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        if target.startswith(("mailto:", "tel:")):
            return label or target.split(":", 1)[1]
        return f"{label} ({target})" if label and label != target else target

    return _SLACK_LINK.sub(plain, text)


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
        spans = self._detector.detect(text)
        if not spans:
            return Masked(text, ())
        placeholders = vault.assign([(s.entity_type, text[s.start:s.end], s.ref) for s in spans])
        out, last, entities = [], 0, []
        for span, placeholder in zip(spans, placeholders, strict=True):
            out.append(text[last:span.start])
            out.append(placeholder)
            entities.append((span.entity_type, span.start, span.end, placeholder))
            last = span.end
        out.append(text[last:])
        return Masked("".join(out), tuple(entities))

    def mask_user_text(self, vault: Vault, text: str) -> str:
        """A person's message: Slack markup unwrapped, typed placeholders neutralised, then masked."""
        return self.mask_text(vault, neutralise(unwrap_slack(text))).text

    def mask_value(self, vault: Vault, value: Any, *, field: str | None = None) -> Any:
        """JSON-aware masking of a tool result: every string, and PII fields by their key."""
        if isinstance(value, Mapping):
            return {k: self.mask_value(vault, v, field=str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.mask_value(vault, v, field=field) for v in value]
        if not isinstance(value, str) or not value.strip():
            return value
        forced = PII_FIELDS.get((field or "").lower())
        if forced:
            masked = self.mask_text(vault, value).text
            if PLACEHOLDER.fullmatch(masked.strip()):
                return masked
            return vault.assign([(forced, value, None)])[0]
        return self.mask_text(vault, value).text

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
        """Real values back into text a person reads; unknown placeholders stay as they are."""
        return _substitute(vault, text, strict=False)


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
