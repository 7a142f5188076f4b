"""Personal data the way people (and hostile notes) write it: invisible characters, look-alike
letters, separators, internal domains, names alone or reordered, unknown names of many scripts;
and what must stay readable: dates, weekdays, products, stages, amounts, ids, times."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import PrivacySection
from bot.privacy.detector import Detector
from bot.privacy.gateway import Gateway
from bot.privacy.known import KnownEntity, KnownEntityIndex
from bot.privacy.normalise import normalise
from bot.privacy.vault import MemoryVaultStore, Vault

KNOWN = KnownEntityIndex([
    KnownEntity("PERSON", "Sylvester Kohl", "contact:1"),
    KnownEntity("EMAIL_ADDRESS", "sylvester.kohl@acme.com", "contact:1"),
    KnownEntity("PHONE_NUMBER", "+33 1 43 52 04 23", "contact:1"),
    KnownEntity("PERSON", "Ægir Duarte", "contact:2"),
    KnownEntity("PERSON", "Mark Green", "contact:3"),
    KnownEntity("PERSON", "May Lindqvist", "contact:4"),
    KnownEntity("PERSON", "Jan Brouwer", "contact:5"),
    KnownEntity("PHONE_NUMBER", "+1 415-555-0142", "contact:5"),
    KnownEntity("ORGANIZATION", "Correia S/A", "company:1"),
])
SETTINGS = PrivacySection(allow_list=("Brightdesk", "Brightdesk Pro", "Brightdesk Enterprise", "Insights"))
ZW, SHY, RLO = "\u200b", "\u00ad", "\u202e"


@pytest.fixture(scope="module")
def detector() -> Detector:
    detector = Detector(SETTINGS, lambda: KNOWN)
    detector.warm()
    return detector


def masked(detector: Detector, text: str) -> list[str]:
    return [text[s.start:s.end] for s in detector.detect(text)]


# (text, the exact original characters that must be masked)
FORMS = [
    # 1. invisible characters, compatibility forms, look-alikes, separators, internal domains
    (f"Call Sylv{ZW}ester Kohl today", [f"Sylv{ZW}ester Kohl"]),
    (f"Write to sylvester{SHY}.kohl@acme.com", [f"sylvester{SHY}.kohl@acme.com"]),
    ("Write to sylvеster.kohl@acme.com", ["sylvеster.kohl@acme.com"]),  # Cyrillic е
    ("Ask Ѕylvester Коhl", ["Ѕylvester Коhl"]),  # Cyrillic Ѕ, К, о
    (f"Ask Sylvester{RLO} Kohl", [f"Sylvester{RLO} Kohl"]),
    ("Write to ｓｙｌｖｅｓｔｅｒ.ｋｏｈｌ@ａｃｍｅ.ｃｏｍ", ["ｓｙｌｖｅｓｔｅｒ.ｋｏｈｌ@ａｃｍｅ.ｃｏｍ"]),
    ("Ring +44_20_7946_0958 tonight", ["+44_20_7946_0958"]),
    ("Ring 020·7946·0958 tonight", ["020·7946·0958"]),
    ("Ring 020/7946/0958 tonight", ["020/7946/0958"]),
    ("Ring +44\u201320\u20137946\u20130958 tonight", ["+44\u201320\u20137946\u20130958"]),
    ("Ring 020\u20147946\u20140958 tonight", ["020\u20147946\u20140958"]),
    ("Mail priya@ops.local, tom@intranet.corp, ana@build.internal, li@nas.lan", [
        "priya@ops.local", "tom@intranet.corp", "ana@build.internal", "li@nas.lan"]),
    # 2. names the CRM does not know
    ("Send Ægir Þórsson the renewal quote", ["Ægir Þórsson"]),
    ("Met Kwabena Asante at the fair", ["Kwabena Asante"]),
    ("Spoke to Okonkwo yesterday about the pilot", ["Okonkwo"]),
    ("Dear Siobhán, thanks for the call", ["Siobhán"]),
    ("Best regards,\nKjartan Ólafsson", ["Kjartan Ólafsson"]),
    ("Ingrid Vandersloot (CFO) signed the order", ["Ingrid Vandersloot"]),
    ("Ask Omar al-Farouq about the invoice", ["Omar al-Farouq"]),
    ("Lunch with Pieter van der Berg and Luis da Silva", ["Pieter van der Berg", "Luis da Silva"]),
    ("Ahmad bin Ismail approved it", ["Ahmad bin Ismail"]),
    ("The champion is Иван Петров, his deputy Ελένη Παπαδοπούλου", ["Иван Петров", "Ελένη Παπαδοπούλου"]),
    ("Forward it to 김민준 and 佐藤 健 please", ["김민준", "佐藤 健"]),
    ("Contract signed by محمد العلي and דוד כהן", ["محمد العلي", "דוד כהן"]),
    # 3. known contacts in every written form
    ("Send Ægir the renewal quote", ["Ægir"]),
    ("Has anyone spoken to Duarte's team at Correia S/A?", ["Duarte", "Correia S/A"]),
    ("Owner: Kohl, Sylvester", ["Kohl, Sylvester"]),
    ("Sylvester-Kohl confirmed", ["Sylvester-Kohl"]),
    ("Notes from Sylvester\nKohl on the pilot", ["Sylvester\nKohl"]),
    ("Kohl said yes", ["Kohl"]),
    ("His desk is 0143520423 and mobile 01 43 52 04 23", ["0143520423", "01 43 52 04 23"]),
    ("Dial 0033143520423 or 4155550142", ["0033143520423", "4155550142"]),
    ("Mark Green approved", ["Mark Green"]),
]


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_every_written_form_is_masked(detector: Detector, text: str, expected: list[str]) -> None:
    assert masked(detector, text) == expected


MUST_KEEP = [
    "Meeting Thu 16 Jan at 10:00, follow-up Fri 21 Mar and Jun 5.",
    "Renewal due 5 May 2026; kickoff Mon 3 Feb, review Sat 1 Aug.",
    "Mark the deal as won and paint the banner Green in May.",
    "See you on Monday or Tuesday; Wednesday is booked.",
    "Brightdesk Pro with Insights, stage negotiation, 48,500.00 EUR, deal 4512 at 14:30.",
    "Ticket 88213 moved to proposal on 2026-12-01; invoice INV-2026-00042 for $12,000.",
    "Sep 30 and Dec 1 are the quarter ends; Oct 2026 is the audit.",
]


@pytest.mark.parametrize("text", MUST_KEEP)
def test_dates_products_stages_amounts_ids_and_times_stay(detector: Detector, text: str) -> None:
    assert masked(detector, text) == []


def test_masking_replaces_exactly_the_original_characters(detector: Detector) -> None:
    text = f"Hi{ZW} Sylv{ZW}ester Kohl{ZW}, call 020·7946·0958{SHY}."
    v = Vault("T/1", MemoryVaultStore())
    out = Gateway(detector).mask_text(v, text)
    assert out.text == f"Hi{ZW} <PERSON_1>{ZW}, call <PHONE_NUMBER_1>{SHY}."
    assert Gateway(detector).unmask_text(v, out.text) == text


def test_a_crm_note_read_through_a_tool_is_masked_in_every_form(detector: Detector) -> None:
    note = {"subject": "Call notes", "contact": "Sylvester Kohl",
            "body": f"Kohl, Sylvester asked us to mail sylv{ZW}ester.kohl@acme.com or call 0143520423; "
                    "Ægir (Duarte's colleague) is at ana@build.internal, +44_20_7946_0958."}
    out = Gateway(detector).mask_value(Vault("T/2", MemoryVaultStore()), note)
    text = repr(out)
    for planted in ("Kohl", "Sylvester", "sylv", "0143520423", "Ægir", "Duarte", "ana@build", "7946"):
        assert planted not in text


# -- the round trip on hostile text -------------------------------------------------------------

INVISIBLES = st.sampled_from([ZW, SHY, RLO, "\u200d", "\u2060", "\ufeff"])
# One entity per group, in the forms it may take; a text holds at most one form of each entity,
# since the vault gives all forms of one entity one placeholder (and unmasks the first form seen).
ENTITIES = [
    ["Sylvester Kohl", "Ѕylvester", "Kohl, Sylvester", "Sylvester\nKohl"],
    ["sylvester.kohl@acme.com", "sylvеster.kohl@acme.com"],
    ["+33 1 43 52 04 23", "0143520423", "0033 1 43 52 04 23"],
    ["Ægir", "Ægir Duarte", "Duarte's"],
    ["Иван Петров"], ["priya@ops.local"], ["020·7946·0958", "+44_20_7946_0958"], ["Zoe\u0301 Okonkwo"],
]
FILLERS = st.sampled_from([
    "Thu 16 Jan", "Brightdesk Pro", "48,500 EUR", "deal 4512", " and ", ", ", "\n", "Call ", "Mark the deal",
    "ｆｕｌｌ", " at 14:30. ",
])


def _sprinkle(draw: st.DrawFn, text: str) -> str:
    out = []
    for char in text:
        out.append(char)
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(INVISIBLES))
    return "".join(out)


@st.composite
def hostile_texts(draw: st.DrawFn) -> str:
    chosen = draw(st.lists(st.integers(0, len(ENTITIES) - 1), unique=True, max_size=5))
    pieces = [draw(st.sampled_from(ENTITIES[i])) for i in chosen]
    pieces += draw(st.lists(FILLERS, min_size=1, max_size=5))
    return _sprinkle(draw, " ".join(draw(st.permutations(pieces))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile_texts())
def test_unmask_of_mask_is_identity_and_unmasked_text_never_moves(detector: Detector, text: str) -> None:
    v = Vault("T/3", MemoryVaultStore())
    gateway = Gateway(detector)
    out = gateway.mask_text(v, text)
    assert gateway.unmask_text(v, out.text) == text
    # Everything outside the masked spans is the original text, character for character.
    rebuilt, last = "", 0
    for _, start, end, placeholder in out.entities:
        assert 0 <= last <= start < end <= len(text)
        rebuilt += text[last:start] + placeholder
        last = end
    assert rebuilt + text[last:] == out.text


@given(st.text(max_size=60))
def test_the_view_maps_back_inside_the_original(text: str) -> None:
    view = normalise(text)
    for i in range(len(view.text)):
        start, end = view.original(i, i + 1)
        assert 0 <= start < end <= len(text)
        if i:
            assert view.original(i - 1, i)[0] <= start


def test_the_stop_list_holds_ordinary_words_not_names() -> None:
    from bot.privacy.words import common_words, person_names

    common = common_words()
    assert {"mark", "may", "green", "will", "jan", "thu"} <= common
    assert not {"john", "david", "sylvester", "duarte", "kohl"} & common
    assert {"ægir", "priya", "sylvester"} <= person_names("first")


def test_a_contact_named_like_a_month_or_a_word_leaves_them_readable() -> None:
    index = KnownEntityIndex([KnownEntity("PERSON", name, f"contact:{i}") for i, name in
                              enumerate(("Mark Green", "May Lindqvist", "June Carter", "Jan Brouwer"))])
    detector = Detector(SETTINGS, lambda: index)
    text = "Mark the deal green; the call in May moved to Thu 16 Jan, then June 3."
    assert masked(detector, text) == []
    # Surnames alone are masked unless they are common words too ("Carter" is one).
    assert masked(detector, "Lindqvist and Brouwer agreed; Carter's team too.") == ["Lindqvist", "Brouwer"]


@pytest.mark.parametrize("text", ["Her direct line is 3558328022.", "Reach her on 0564362991 or via e-mail."])
def test_a_bare_digit_run_after_a_phone_word_is_a_phone(detector: Detector, text: str) -> None:
    assert len(masked(detector, text)) == 1
