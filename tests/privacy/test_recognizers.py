"""Presidio's recognizers run line by line only where a line may hold a match: same results, less work."""

from __future__ import annotations

import phonenumbers
import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer import predefined_recognizers as pr
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from bot.config import PrivacySection
from bot.privacy import recognizers
from bot.privacy.detector import Detector
from bot.privacy.recognizers import (
    INTERNATIONAL_MIN_DIGITS,
    LineEmailRecognizer,
    LineIpRecognizer,
    LinePhoneRecognizer,
    iban_recognizer,
    national_min_digits,
)

# Tool results are masked as many values joined by blank lines; matches sit at line edges, next to
# dates and amounts, and after an extension on the next line.
TEXTS = [
    "Call +44 20 7946 0958 or (415) 555-0132\nmobile 07911 123456, fax +1 202 555 0143 x12",
    "Gertz\n\n+49 30 577853\n\n10260.00\n\nEUR\n\ndue 20 November 2026\n\n+49 30 173804",
    "abc8005001234\n8005001234def\n2125550123\n(212) 555-0123; 212.555.0123 ext 45",
    "tel 212-555-0123\next 12\n+43 1234\n+33 1 42 68 53 00\n020 7946 0958\n0800 1111",
    "2026-11-02 12:30:15\n12/01/2026 and 30/11/2026\n$48,500.00\n1 250 000 EUR\n+49 (0)30 901820",
    "mail a.b@example.org\nc@d.co\nnot@an\n@\nzoe.muller@acme-logistics.de, bob@x.io",
    "ip 10.0.0.1 and fe80::1\n::\n::ffff:192.168.1.1\n1.2.3\n2001:db8::8a2e:370:7334/64\n300.1.1.1",
    "Pay to GB82 WEST 1234 5698 7654 32\ngb82west12345698765432\nDE89370400440532013000 2 days\nAB12",
    "\n\nleading and trailing breaks\n\n",
    "",
]


def _spans(results: list) -> list[tuple[int, int, str, float]]:
    return sorted((r.start, r.end, r.entity_type, r.score) for r in results)


@pytest.mark.parametrize(
    ("gated", "plain"),
    [
        (lambda: LinePhoneRecognizer(["US", "GB"]), lambda: pr.PhoneRecognizer(supported_regions=["US", "GB"])),
        (lambda: LinePhoneRecognizer(["DE", "FR"]), lambda: pr.PhoneRecognizer(supported_regions=["DE", "FR"])),
        (LineEmailRecognizer, pr.EmailRecognizer),
        (LineIpRecognizer, pr.IpRecognizer),
        (iban_recognizer, lambda: recognizers._CaseFoldingIban()),
    ],
    ids=["phone-us-gb", "phone-de-fr", "email", "ip", "iban"],
)
def test_line_gated_recognizers_find_what_presidio_finds_in_the_whole_text(gated, plain) -> None:  # type: ignore[no-untyped-def]
    gated_recognizer, plain_recognizer = gated(), plain()
    for text in TEXTS:
        entities = plain_recognizer.supported_entities
        assert _spans(gated_recognizer.analyze(text, entities)) == _spans(plain_recognizer.analyze(text, entities)), text


def test_phone_matching_skips_lines_without_a_long_enough_digit_run(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    matcher = phonenumbers.PhoneNumberMatcher

    def recording(text: str, *args: object, **kwargs: object) -> object:
        seen.append(text)
        return matcher(text, *args, **kwargs)

    monkeypatch.setattr(phonenumbers, "PhoneNumberMatcher", recording)
    text = "Samira Ebert\n\ndue 20 November 2026\n\n(15 agents, 10,260 EUR)\n\n+49 30 577853\n\nrenewal"
    results = LinePhoneRecognizer(["US", "GB"]).analyze(text, ["PHONE_NUMBER"])
    assert set(seen) == {"+49 30 577853"}  # once per region
    assert [text[r.start:r.end] for r in results] == ["+49 30 577853"]


def _shortest(code: int) -> int:
    """The shortest national number of any region (or non-geographic entity) of a country code."""
    lengths = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        descs = [getattr(metadata, name) for name in ("general_desc", "fixed_line", "mobile", "toll_free", "voip",
                                                      "premium_rate", "shared_cost", "personal_number", "uan")]
        lengths += [n for d in descs if d is not None for n in (d.possible_length or ()) if n > 0]
    return min(lengths)


def test_no_valid_number_has_fewer_digits_than_the_gate_lets_through() -> None:
    # International form: country code plus the shortest national number of its regions.
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        assert len(str(code)) + _shortest(code) >= INTERNATIONAL_MIN_DIGITS, code
    example = phonenumbers.example_number_for_type("DE", phonenumbers.PhoneNumberType.FIXED_LINE)
    assert national_min_digits("DE") <= len(str(example.national_number))
    assert national_min_digits("US") <= 10 and national_min_digits("GB") <= 10


def test_direct_analysis_matches_the_analyzer_engine() -> None:
    settings = PrivacySection(national_ids=["US_SSN", "UK_NHS", "UK_NINO", "ES_NIF", "IT_FISCAL_CODE"])
    direct = Detector(settings)
    engine = Detector(settings)
    # The same recognizers through AnalyzerEngine.analyze, context enhancement and all.
    engine._engine = AnalyzerEngine(registry=RecognizerRegistry(supported_languages=["en"],
                                                                recognizers=direct._recognizers),
                                    nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]),
                                    supported_languages=["en"])
    texts = [*TEXTS, "SSN 078-05-1120, NHS 943 476 5919, NINO AB123456C, NIF 12345678Z, card 4111 1111 1111 1111"]
    assert direct._engine is None
    for text in texts:
        assert direct.detect(text) == engine.detect(text), text
