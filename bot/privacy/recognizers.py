"""Presidio recognizers tuned for chat text, where numbers come in every national format.

Presidio's phone recognizer (phonenumbers) only knows the configured regions and needs valid
numbers; its card pattern misses 12-digit Maestro, 15-digit JCB, 19-digit Visa and 2-series
Mastercard; its IBAN pattern is case-sensitive. These add the formats people type, with
validation that keeps dates, amounts, IP addresses and ids out.

Presidio's own phone, e-mail, IBAN and IP recognizers are run line by line, and only on the lines
that can hold a match (enough digits, an "@", ...): a tool result is masked as one text of many
short lines, most of them names and sentences, and the phone recognizer alone costs milliseconds
per record when it parses every date and amount in it as a candidate number.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable
from datetime import date
from typing import Any

import phonenumbers
import regex
from phonenumbers.phonenumbermatcher import _OPENING_PARENS
from phonenumbers.phonenumberutil import _PLUS_CHARS, _VALID_PUNCTUATION
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer import predefined_recognizers as pr
from presidio_analyzer.nlp_engine import NlpArtifacts

# Words that say a bare digit run is a phone number (within CONTEXT_WINDOW characters).
PHONE_CONTEXT = re.compile(
    r"\b(phone|tel|telephone|call|calls|called|ring|mobile|cell|fax|desk|office|whatsapp|sms|text|dial|"
    r"landline|registered|line|reach|reached|reachable)\b",
    re.IGNORECASE,
)
CONTEXT_WINDOW = 40
# Right before an amount: a currency symbol or code; right after: a currency code or word.
CURRENCY_BEFORE = re.compile(r"(?:[$€£¥]|\b(?:USD|EUR|GBP|CHF|SEK|JPY|AUD|CAD))\s*$", re.IGNORECASE)
CURRENCY_AFTER = re.compile(r"^\s*(?:[$€£¥]|(?:USD|EUR|GBP|CHF|SEK|JPY|AUD|CAD|dollars?|euros?|pounds?|k)\b)",
                            re.IGNORECASE)
_DATE_SHAPES = (
    re.compile(r"(?<!\d)(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?!\d)"),  # 2026-12-01
    re.compile(r"(?<!\d)(\d{1,2})[-./](\d{1,2})[-./](\d{4})(?!\d)"),  # 01.12.2026, 12/01/2026
)

# A phone as people write it: optional +CC, optional (0) or (area), groups of digits split by
# spaces, dots, dashes, slashes, underscores or middle dots, optional extension (Unicode dashes are
# "-" in the normalised view detection runs on). Digits are counted in validation.
PHONE_PATTERN = (
    r"(?<![\w+#@.\-/])"
    r"(?:\+\d{1,3}[ .\-_·/]?)?(?:\(0\)[ .\-_·/]?)?(?:\(\d{1,5}\)[ .\-_·/]?)?"
    r"\d{1,15}(?:[ .\-/_·]\d{1,8}){0,5}"
    r"(?:\s?(?:x|ext\.?)\s?\d{1,6})?"
    r"(?![\w.\-/]?\d)(?![\w@])"
)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _has_date(text: str) -> bool:
    for shape in _DATE_SHAPES:
        m = shape.search(text)
        if not m:
            continue
        a, b, c = (int(g) for g in m.groups())
        year, candidates = (a, ((b, c),)) if shape is _DATE_SHAPES[0] else (c, ((b, a), (a, b)))
        for month, day in candidates:
            try:
                date(year, month, day)
                return True
            except ValueError:
                continue
    return False


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


class LoosePhoneRecognizer(PatternRecognizer):
    """Phone numbers in national and international formats, valid or not.

    Accepted: 7 to 15 digits (extension aside). A number written as one bare run of digits is a
    phone only next to a phone word ("call", "mobile", "fax", ...) and with at least 9 digits, so
    record ids and amounts stay; grouped numbers need no context. Dates, IPv4 addresses,
    decimals and amounts next to a currency are never phones.
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="LoosePhoneRecognizer",
            patterns=[Pattern("phone (loose)", PHONE_PATTERN, 0.5)],
            global_regex_flags=re.IGNORECASE,
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if self._plausible(text, r.start, r.end)]

    @staticmethod
    def _plausible(text: str, start: int, end: int) -> bool:
        value = text[start:end]
        number = re.split(r"\s?(?:x|ext\.?)\s?(?=\d+$)", value, flags=re.IGNORECASE)[0]
        digits = _digits(number)
        if not 7 <= len(digits) <= 15 or _has_date(number) or _is_ipv4(number):
            return False
        if re.fullmatch(r"\d+\.\d+", number):  # a decimal such as 12000.00; dotted phones have 2+ dots
            return False
        if CURRENCY_BEFORE.search(text[max(0, start - 5):start]) or CURRENCY_AFTER.search(text[end:end + 9]):
            return False
        grouped = number != digits or "+" in number
        if grouped:
            return True
        window = text[max(0, start - CONTEXT_WINDOW):end + CONTEXT_WINDOW]
        return len(digits) >= 9 and PHONE_CONTEXT.search(window) is not None


# 12 to 19 digits, alone or in groups of 4 (or 4-6-5 for Amex / 4-6-4 for Diners), any issuer.
CARD_PATTERN = (
    r"(?<![\d\-])(?:\d{4}[ \-]\d{4}[ \-]\d{4}[ \-]\d{1,7}|\d{4}[ \-]\d{6}[ \-]\d{4,5}|\d{12,19})(?![\d\-])"
)


class CardRecognizer(pr.CreditCardRecognizer):
    """Presidio's card recognizer (Luhn checksum) over every issuer's length.

    Candidates may overlap ("call 0958 4111 1111 1111 1111": the card starts at the second
    group), so every start is tried and only checksum-valid candidates are kept.
    """

    def __init__(self) -> None:
        super().__init__(patterns=[Pattern("card (any issuer)", CARD_PATTERN, 0.3)], name="CardRecognizer")
        self._regex = regex.compile(CARD_PATTERN)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        return [
            RecognizerResult("CREDIT_CARD", m.start(), m.end(), self.MAX_SCORE, recognition_metadata=dict(metadata))
            for m in self._regex.finditer(text, overlapped=True)
            if self.validate_result(m.group())
        ]


def iban_recognizer() -> PatternRecognizer:
    """Presidio's IBAN recognizer (country format + mod-97), also for IBANs typed in lower case,
    run only on lines where two letters are followed by two digits, as every IBAN starts."""
    return _LineIban()


_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


class _CaseFoldingIban(pr.IbanRecognizer):
    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        # The text as written first: upper-casing it can join the word before an IBAN to it
        # ("use ES23 5945..." becomes "USE ES23 5945...", which fails the check). Then upper-cased,
        # ASCII only so every offset stays (str.upper turns "ß" into "SS"), for IBANs typed in lower case.
        found = super().analyze(text, entities, nlp_artifacts, regex_flags)
        upper = text.translate(_ASCII_UPPER)
        if upper != text:
            found += [r for r in super().analyze(upper, entities, nlp_artifacts, regex_flags)
                      if not any(r.start < f.end and f.start < r.end for f in found)]
        return found



# -- line gates -------------------------------------------------------------------------------------

# The fewest digits of a number phonenumbers accepts as valid when it is written in international
# form: a 2-digit country code and a 4-digit national number (Austria, Germany, Iran). Checked
# against the installed metadata by tests/privacy/test_recognizers.py.
INTERNATIONAL_MIN_DIGITS = 6
# What phonenumbers' candidate pattern allows between the digits of a number (besides an
# extension, whose digits do not count): its punctuation, a leading plus or opening bracket.
_NUMBER_GAP = f"[{_VALID_PUNCTUATION}{_PLUS_CHARS}{_OPENING_PARENS}]*"


def national_min_digits(region: str) -> int:
    """The fewest digits of a valid national number of region, or of a region sharing its country code."""
    code = phonenumbers.country_code_for_region(region)
    lengths = []
    for other in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, (region,)):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, other)
        if metadata is None:
            continue
        descs = [metadata.general_desc, metadata.fixed_line, metadata.mobile, metadata.toll_free,
                 metadata.premium_rate, metadata.shared_cost, metadata.personal_number, metadata.voip,
                 metadata.pager, metadata.uan, metadata.voicemail]
        lengths += [n for d in descs if d is not None for n in (d.possible_length or ()) if n > 0]
    return min(lengths, default=1)


class _ByLine:
    """Runs a recognizer on the lines of a text that may hold a match, alone, and shifts the results.

    Only for recognizers whose matches never contain a line break and whose checks look at most at
    the characters right next to a match: a line break is neither a letter, a digit, a currency
    sign nor punctuation they join on, so a line alone gives exactly what it gives inside the text.
    The lines are found in one pass of a gate pattern that cannot cross a line break and matches in
    every line that may hold a match.
    """

    _gate: re.Pattern[str]

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None,
                **kwargs: Any) -> list[RecognizerResult]:
        whole: Callable[..., list[RecognizerResult]] = super().analyze  # type: ignore[misc]
        results: list[RecognizerResult] = []
        end = -1
        for gate in self._gate.finditer(text):
            if gate.start() <= end:
                continue  # in the line just analysed
            start = text.rfind("\n", 0, gate.start()) + 1
            end = text.find("\n", gate.end())
            end = len(text) if end < 0 else end
            for result in whole(text[start:end], entities, nlp_artifacts, **kwargs):
                result.start += start
                result.end += start
                results.append(result)
        return results


class LinePhoneRecognizer(_ByLine, pr.PhoneRecognizer):
    """Presidio's phone recognizer (phonenumbers, valid numbers of the configured regions), run only
    on lines where as many digits as the shortest valid number has are joined by nothing but the
    punctuation phonenumbers allows inside a number ("due 20 November 2026" has no such run)."""

    def __init__(self, supported_regions: list[str]) -> None:
        super().__init__(supported_regions=supported_regions)
        digits = min([INTERNATIONAL_MIN_DIGITS, *map(national_min_digits, supported_regions)])
        # \d is any Unicode decimal digit, as in phonenumbers' own patterns; no gap holds a line break.
        self._gate = re.compile(rf"\d(?:{_NUMBER_GAP}\d){{{max(0, digits - 1)}}}")


class AnyDomainEmailRecognizer(pr.EmailRecognizer):
    """Presidio's e-mail pattern without its check of the domain against the public suffix list:
    addresses at internal domains (.local, .corp, .internal, .lan) are personal data too. The
    pattern already asks for a dotted domain; the last label must start with a letter."""

    def validate_result(self, pattern_text: str) -> bool:
        return _TOP_LABEL.search(pattern_text) is not None


_TOP_LABEL = re.compile(r"\.[^\W\d_][\w-]*$")


class LineEmailRecognizer(_ByLine, AnyDomainEmailRecognizer):
    """The e-mail recognizer, run only on lines with an "@"."""

    _gate = re.compile("@")


class LineIpRecognizer(_ByLine, pr.IpRecognizer):
    """Presidio's IP recognizer, run only on lines with three dots (IPv4) or two colons (IPv6)."""

    _gate = re.compile(r"\.[^.\n]*\.[^.\n]*\.|:[^:\n]*:")


class _LineIban(_ByLine, _CaseFoldingIban):
    _gate = re.compile(r"[A-Za-z]{2}[0-9]{2}")  # how every IBAN starts
