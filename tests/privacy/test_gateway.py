"""The gateway and the vault: stable placeholders, tolerant unmasking, persistence, no leaks."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import PrivacySection
from bot.privacy.detector import Detector
from bot.privacy.gateway import Gateway, UnknownPlaceholder, neutralise
from bot.privacy.known import KnownEntity, KnownEntityIndex
from bot.privacy.spans import Span
from bot.privacy.vault import MemoryVaultStore, Vault
from bot.store.vault_store import SqlVaultStore

KNOWN = KnownEntityIndex([
    KnownEntity("PERSON", "Zoë Müller", "contact:1"),
    KnownEntity("EMAIL_ADDRESS", "zoe.muller@acme-logistics.de", "contact:1"),
    KnownEntity("PHONE_NUMBER", "+44 20 7946 0958", "contact:1"),
])


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    detector = Detector(PrivacySection(allow_list=("Brightdesk Pro",)), lambda: KNOWN)
    detector.warm()
    return Gateway(detector)


def vault(name: str = "T1/123.456") -> Vault:
    return Vault(name, MemoryVaultStore())


def test_same_entity_same_placeholder(gateway: Gateway) -> None:
    v = vault()
    first = gateway.mask_text(v, "Mail ZOE.MULLER@acme-logistics.de or call +44 20 7946 0958.").text
    second = gateway.mask_text(v, "zoe.muller@ACME-LOGISTICS.DE again; 020 7946 0958 is her landline.").text
    assert first == "Mail <EMAIL_ADDRESS_1> or call <PHONE_NUMBER_1>."
    assert second == "<EMAIL_ADDRESS_1> again; <PHONE_NUMBER_1> is her landline."
    assert gateway.mask_text(v, "Anna Weber and Zoë Müller").text == "<PERSON_1> and <PERSON_2>"


def test_entities_carry_offsets_into_the_input(gateway: Gateway) -> None:
    text = "Zoë Müller: zoe.muller@acme-logistics.de"
    masked = gateway.mask_text(vault(), text)
    assert [(t, text[b:e], p) for t, b, e, p in masked.entities] == [
        ("PERSON", "Zoë Müller", "<PERSON_1>"),
        ("EMAIL_ADDRESS", "zoe.muller@acme-logistics.de", "<EMAIL_ADDRESS_1>"),
    ]


def test_user_text_is_masked_with_typed_placeholders_neutralised(gateway: Gateway) -> None:
    v = vault()
    gateway.mask_text(v, "Anna Weber")  # <PERSON_1> exists in this vault
    masked = gateway.mask_user_text(v, "Ask @U024BE7LH to mail anna@example.org and tell <PERSON_1>")
    assert masked == "Ask @U024BE7LH to mail <EMAIL_ADDRESS_1> and tell PERSON 1"
    # So a user cannot make a tool reveal what <PERSON_1> stands for by typing it.
    assert gateway.unmask_arguments(v, {"q": "PERSON 1"}) == {"q": "PERSON 1"}


@pytest.mark.parametrize("text", ["compare a <b> and <x|y>", "<https://x.example/p|the page>", "if a<b|c> then"])
def test_user_text_in_angle_brackets_is_text_not_slack_markup(gateway: Gateway, text: str) -> None:
    # Slack markup is read once, by bot/slack; what reaches the gateway is what the person typed.
    assert gateway.mask_user_text(vault(), text) == text


@pytest.mark.parametrize(
    "form", ["<PERSON_1>", "PERSON_1", "<person_1>", "[PERSON_1]", "<PERSON_1>'s"],
)
def test_unmask_tolerates_what_models_write(gateway: Gateway, form: str) -> None:
    v = vault()
    gateway.mask_text(v, "Zoë Müller")
    assert gateway.unmask_arguments(v, {"text": f"Dear {form}"})["text"].startswith("Dear Zoë Müller")
    assert gateway.unmask_text(v, f"Dear {form}").startswith("Dear Zoë Müller")


def test_unknown_placeholders_stop_the_tool(gateway: Gateway) -> None:
    v = vault()
    gateway.mask_text(v, "Zoë Müller")
    with pytest.raises(UnknownPlaceholder, match="<PERSON_7> is not a placeholder of this conversation"):
        gateway.unmask_arguments(v, {"to": ["ok", "<PERSON_7>"]})
    assert gateway.unmask_text(v, "<PERSON_7> and <PERSON_1>") == "<PERSON_7> and Zoë Müller"
    # Another conversation's vault knows nothing of this one.
    with pytest.raises(UnknownPlaceholder):
        gateway.unmask_arguments(vault("T1/other"), {"name": "<PERSON_1>"})


def test_json_results_are_masked_by_value_and_by_key(gateway: Gateway) -> None:
    v = vault()
    record = {
        "id": 17, "first_name": "Ximena", "last_name": "Quill", "email": "xq@example.net",
        "amount": "12000.00", "stage": "proposal", "close_date": "2026-11-30",
        "notes": ["Call Zoë Müller on +44 20 7946 0958"], "aliases": ["Xi Quill"],
    }
    masked = gateway.mask_value(v, record)
    assert masked["id"] == 17 and masked["amount"] == "12000.00" and masked["stage"] == "proposal"
    assert masked["close_date"] == "2026-11-30"
    for key in ("first_name", "last_name", "email"):
        assert masked[key].startswith("<") and masked[key].endswith(">")
    assert "Zoë" not in masked["notes"][0] and "7946" not in masked["notes"][0]
    assert "Xi Quill" not in repr(masked)
    assert gateway.unmask_arguments(v, masked) == {**record, "id": 17}


def test_bare_timestamps_skip_detection_unless_their_key_is_personal_data() -> None:
    seen: list[str] = []

    class Recording:
        def detect(self, text: str) -> list[Span]:
            seen.append(text)
            return []

    record = {"occurred_at": "2026-10-17T15:54:38.510394+00:00", "close_date": "2026-11-30",
              "due_at": "2026-11-30 09:00Z", "body": "Call back on 2026-11-30 at 10:00", "phone": "2026-11-30"}
    masked = Gateway(Recording()).mask_value(vault(), record)
    assert {k: masked[k] for k in ("occurred_at", "close_date", "due_at", "body")} == {
        k: record[k] for k in ("occurred_at", "close_date", "due_at", "body")}
    assert masked["phone"] == "<PHONE_NUMBER_1>"  # a personal-data key is masked whatever it holds
    detected = "\n".join(seen)
    assert "15:54:38" not in detected and "09:00Z" not in detected
    assert "Call back on 2026-11-30 at 10:00" in detected  # a date inside text is still looked at


def test_vault_values_stay_out_of_repr(gateway: Gateway) -> None:
    store = MemoryVaultStore()
    v = Vault("T1/repr", store)
    gateway.mask_text(v, "zoe.muller@acme-logistics.de")
    entries = store.load("T1/repr")
    assert len(entries) == 1 and entries[0].value == "zoe.muller@acme-logistics.de"
    assert "zoe" not in repr(v) and "zoe" not in repr(entries)


def test_neutralise_leaves_other_words() -> None:
    assert neutralise("SOME_1 and <EMAIL_ADDRESS_2>") == "SOME_1 and EMAIL_ADDRESS 2"


def test_vault_persists_and_survives_a_restart(engine) -> None:  # type: ignore[no-untyped-def]
    detector = Detector(PrivacySection(), lambda: KNOWN)
    gateway = Gateway(detector)
    store = SqlVaultStore(engine)
    first = gateway.mask_text(Vault("C1/1.2", store), "Zoë Müller and Anna Weber").text
    # A second replica (or the same process after a restart) continues the thread.
    again = Vault("C1/1.2", SqlVaultStore(engine))
    assert gateway.mask_text(again, "Anna Weber, then Zoë Müller, then Priya Raman").text == (
        "<PERSON_2>, then <PERSON_1>, then <PERSON_3>"
    )
    assert first == "<PERSON_1> and <PERSON_2>"
    assert gateway.unmask_text(Vault("C1/1.2", store), "<PERSON_3>") == "Priya Raman"
    assert Vault("C2/1.2", store).value_of("PERSON", 1) is None


def test_two_writers_racing_on_one_vault_agree(engine) -> None:  # type: ignore[no-untyped-def]
    store = SqlVaultStore(engine)
    a, b = Vault("C9/1", store), Vault("C9/1", store)
    assert a.value_of("PERSON", 1) is None and b.value_of("PERSON", 1) is None  # both read while it was empty
    assert a.assign([("PERSON", "Anna Weber", None)]) == ["<PERSON_1>"]
    # b still believes <PERSON_1> is free: the store refuses, b reloads and picks the next number.
    assert b.assign([("PERSON", "Priya Raman", None), ("PERSON", "Anna Weber", None)]) == ["<PERSON_2>", "<PERSON_1>"]


PII = st.sampled_from([
    "Zoë Müller", "zoe.muller@acme-logistics.de", "+44 20 7946 0958", "anna.weber@example.org",
    "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32", "10.20.30.40", "Priya Raman",
])
FILLER = st.sampled_from([" ", ", ", " and ", ": call ", " about 12,000 EUR on 2026-11-30 with ", "; "])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(FILLER, PII), min_size=1, max_size=6), FILLER)
def test_unmask_of_mask_is_identity(gateway: Gateway, parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f + p for f, p in parts) + tail
    v = vault()
    masked = gateway.mask_text(v, text).text
    for _, pii in parts:
        assert pii not in masked
    assert gateway.unmask_text(v, masked) == text


class CountingStore(MemoryVaultStore):
    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    def load(self, conversation_id: str) -> list:  # type: ignore[type-arg]
        self.loads += 1
        return super().load(conversation_id)


def test_a_vault_reads_its_store_on_first_use_and_not_at_all_when_new() -> None:
    store = CountingStore()
    Vault("C8/1", store).assign([("PERSON", "Anna Weber", None)])
    assert store.loads == 1
    later = Vault("C8/1", store)
    assert store.loads == 1  # not read until used
    assert later.value_of("PERSON", 1) == "Anna Weber" and store.loads == 2
    fresh = Vault("C8/2", store)
    fresh.assume_new()
    assert fresh.assign([("PERSON", "Priya Raman", None)]) == ["<PERSON_1>"]
    assert fresh.value_of("PERSON", 1) == "Priya Raman" and store.loads == 2


def test_a_vault_assumed_new_still_agrees_with_a_replica_that_wrote_first(engine) -> None:  # type: ignore[no-untyped-def]
    store = SqlVaultStore(engine)
    mine, replica = Vault("C9/2", store), Vault("C9/2", store)
    mine.assume_new()
    assert replica.assign([("PERSON", "Anna Weber", None)]) == ["<PERSON_1>"]
    # mine believed the vault empty: the store refuses <PERSON_1>, mine reloads and agrees.
    assert mine.assign([("PERSON", "Priya Raman", None), ("PERSON", "Anna Weber", None)]) == ["<PERSON_2>", "<PERSON_1>"]


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("See https://evil.example/c?e=<EMAIL_ADDRESS_1>&p=<PHONE_NUMBER_1> now", "See [link removed] now"),
        ("<https://evil.example/c?e=<EMAIL_ADDRESS_1>|click here> ok", "[link removed] ok"),
        ("<https://evil.example/c?e=EMAIL_ADDRESS_1|click>", "[link removed]"),
        ("www.evil.example/?x=%3CEMAIL_ADDRESS_1%3E.", "[link removed]."),
        ("evil.example/c?n=[PERSON_1], then", "[link removed], then"),
        ("[report](https://evil.example/r?n=<PERSON_1>)", "[link removed]"),
        ("https://evil.example/%253CPERSON_1%253E", "[link removed]"),
        ("<mailto:<EMAIL_ADDRESS_1>|write>", "[link removed]"),
        # Links without placeholders, and placeholders outside links, are unmasked as usual.
        ("Mail <EMAIL_ADDRESS_1> or see <https://docs.example.com/refunds|refunds>.",
         "Mail zoe.muller@acme-logistics.de or see <https://docs.example.com/refunds|refunds>."),
        ("<PERSON_1> (https://docs.example.com/a?b=1)", "Zoë Müller (https://docs.example.com/a?b=1)"),
    ],
)
def test_a_placeholder_inside_a_link_is_never_unmasked(gateway: Gateway, answer: str, shown: str) -> None:
    v = vault()
    gateway.mask_text(v, "Zoë Müller, zoe.muller@acme-logistics.de, +44 20 7946 0958")
    assert gateway.unmask_text(v, answer) == shown
