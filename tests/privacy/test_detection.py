"""What the detector masks and, as important, what it leaves alone."""

from __future__ import annotations

import pytest

from bot.config import PrivacySection
from bot.privacy.detector import Detector
from bot.privacy.known import KnownEntity, KnownEntityIndex
from bot.privacy.spans import DetectionError

KNOWN = KnownEntityIndex([
    KnownEntity("PERSON", "Zoë Müller", "contact:1"),
    KnownEntity("PERSON", "Bob Miller", "contact:2"),
    KnownEntity("EMAIL_ADDRESS", "zoe.muller@acme-logistics.de", "contact:1"),
    KnownEntity("ORGANIZATION", "Acme Logistics GmbH", "company:1"),
])
SETTINGS = PrivacySection(allow_list=("Brightdesk", "Brightdesk Pro", "Insights"))


@pytest.fixture(scope="module")
def detector() -> Detector:
    detector = Detector(SETTINGS, lambda: KNOWN)
    detector.warm()
    return detector


def found(detector: Detector, text: str) -> list[tuple[str, str]]:
    return [(s.entity_type, text[s.start:s.end]) for s in detector.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to anna.smith@example.org today", [("EMAIL_ADDRESS", "anna.smith@example.org")]),
        ("Her mobile is +44 7911 123456.", [("PHONE_NUMBER", "+44 7911 123456")]),
        ("Call +49 30 901820 or +33 1 42 68 53 00", [("PHONE_NUMBER", "+49 30 901820"), ("PHONE_NUMBER", "+33 1 42 68 53 00")]),
        ("US office: (415) 555-0132", [("PHONE_NUMBER", "(415) 555-0132")]),
        ("Card 4111 1111 1111 1111 expires soon", [("CREDIT_CARD", "4111 1111 1111 1111")]),
        ("Pay to GB82 WEST 1234 5698 7654 32", [("IBAN_CODE", "GB82 WEST 1234 5698 7654 32")]),
        ("Server 192.168.10.24 is down", [("IP_ADDRESS", "192.168.10.24")]),
        ("zoe muller signed", [("PERSON", "zoe muller")]),                   # CRM name, any case
        ("ZOË MÜLLER signed", [("PERSON", "ZOË MÜLLER")]),
        ("Bob Miller's deal", [("PERSON", "Bob Miller")]),                     # CRM alias
        ("Acme Logistics GmbH renewed", [("ORGANIZATION", "Acme Logistics GmbH")]),
        ("Spoke with Priya Raman yesterday", [("PERSON", "Priya Raman")]),   # not in the CRM: lexicon
        ("Ask Dr. Okonkwo", [("PERSON", "Okonkwo")]),
        # National formats from any country, valid or not, and extensions.
        ("Mobile: 0490 75 40 81", [("PHONE_NUMBER", "0490 75 40 81")]),
        ("Call me on 01.84.17.61.18?", [("PHONE_NUMBER", "01.84.17.61.18")]),
        ("Desk: +41 (0)96 471 07 95", [("PHONE_NUMBER", "+41 (0)96 471 07 95")]),
        ("Fax: 345-899-3560x4587", [("PHONE_NUMBER", "345-899-3560x4587")]),
        ("They're not answering at 99 668472", [("PHONE_NUMBER", "99 668472")]),
        ("office 085 175 7641, fax 3660170548", [("PHONE_NUMBER", "085 175 7641"), ("PHONE_NUMBER", "3660170548")]),
        # Cards of every issuer length (Luhn-valid), lower-case IBANs.
        ("card number 630427373398 is lost", [("CREDIT_CARD", "630427373398")]),
        ("What is the limit for card 213173282369527?", [("CREDIT_CARD", "213173282369527")]),
        ("My card 4131034282458809939 expires", [("CREDIT_CARD", "4131034282458809939")]),
        ("my card 2720 4186 9525 2980", [("CREDIT_CARD", "2720 4186 9525 2980")]),
        ("my iban is gb42nawi04454264788619", [("IBAN_CODE", "gb42nawi04454264788619")]),
        ("Server 36.160.14.148 again", [("IP_ADDRESS", "36.160.14.148")]),
    ],
)
def test_detects(detector: Detector, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(detector, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The deal is worth 12,000 EUR and closes on 2026-11-30.",
        "Amount: $48,500.00, 40 agents, 3-year term at 12% discount.",
        "Deal 4512 moved from proposal to negotiation; ticket 88213 is urgent.",
        "Brightdesk Pro with the Insights add-on, renewal in May 2026.",
        "Stage closed_won, probability 80%, quote valid 30 days.",
        "<PERSON_1> asked <EMAIL_ADDRESS_2> about [PHONE_NUMBER_3].",
        "Will you send the quote on Monday?",
        "Deals 1043, 21877 and 1050 moved on 2026-12-01 14:30; invoice INV-2026-00042.",
        "Q4 2026 forecast: 1,250,000 EUR across 12 deals, see record 4512 and 30/11/2026.",
        "Budget EUR 1.250.000 or 1 250 000 EUR, or $ 2 500 000; 4111 1111 1111 1112 fails Luhn.",
        "Amount 12000.00 and 1250000.5 in the export",
        "Contact id 123456789 and deal number 9900112233 in the export",  # bare runs need a phone word
        "Released 2026-11-30T09:15:00Z, version 2.10.3, between 2026 and 2027.",
    ],
)
def test_must_not_mask(detector: Detector, text: str) -> None:
    assert found(detector, text) == []


def test_known_names_match_whole_words_only(detector: Detector) -> None:
    assert ("PERSON", "zoe muller") not in found(detector, "zoe muller2 is not a name in the CRM")


def test_overlaps_are_resolved_deliberately(detector: Detector) -> None:
    # A URL hides inside an e-mail, a card number inside an IBAN: the larger entity wins.
    assert found(detector, "zoe.muller@acme-logistics.de") == [("EMAIL_ADDRESS", "zoe.muller@acme-logistics.de")]
    assert found(detector, "IBAN DE89 3704 0044 0532 0130 00") == [("IBAN_CODE", "DE89 3704 0044 0532 0130 00")]


def test_a_ten_digit_phone_is_a_phone_not_an_nhs_number() -> None:
    detector = Detector(PrivacySection(national_ids=("UK_NHS",), name_lexicon=False, known_entities=False))
    assert found(detector, "Call 020 7946 0958 now") == [("PHONE_NUMBER", "020 7946 0958")]
    # A valid NHS number that could also be dialled is masked either way.
    assert [text for _, text in found(detector, "NHS number 943 476 5919")] == ["943 476 5919"]


def test_detection_failure_fails_closed() -> None:
    def broken() -> KnownEntityIndex:
        raise RuntimeError("index unavailable")

    detector = Detector(SETTINGS, broken)
    with pytest.raises(DetectionError, match="personal-data detection failed"):
        detector.detect("anything")


def test_a_missing_spacy_model_gives_a_warning_not_a_crash() -> None:
    detector = Detector(PrivacySection(spacy_model="en_core_web_nonexistent"))
    assert "not installed" in detector.warnings[0] and "name detector" in detector.warnings[0]
    assert found(detector, "mail a@b.co") == [("EMAIL_ADDRESS", "a@b.co")]


def test_a_crm_company_named_like_a_person_stays_an_organisation() -> None:
    index = KnownEntityIndex([KnownEntity("ORGANIZATION", "Thibault", "company:9")])
    detector = Detector(SETTINGS, lambda: index)
    assert found(detector, "Thibault renewed today") == [("ORGANIZATION", "Thibault")]


def test_every_enabled_national_id_has_a_placeholder_type() -> None:
    from bot.config import NATIONAL_IDS, PII_ENTITIES
    from bot.privacy.spans import TYPE_PRIORITY

    assert set(NATIONAL_IDS) | set(PII_ENTITIES) | {"PERSON", "ORGANIZATION"} <= set(TYPE_PRIORITY)
