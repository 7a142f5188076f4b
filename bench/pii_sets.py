"""Evaluation sets for the detector beyond the shared dataset and the Faker-made CRM messages.

- `independent_names`: person names from `mimesis` (MIT), a name source independent of the
  detector's Faker lists, for 48 locales in Latin, Cyrillic, Greek, Arabic (and Persian), Hangul,
  Kana and Han script, in chat and CRM sentences; labelled with the name's script.
- `known_forms`: demo CRM contacts written every way people write them: first name or surname
  alone, "Surname, First", hyphen-joined, split by a line break, possessive, with a zero-width
  character or a look-alike letter, and their phones as national or international digit runs or
  with `_ · / –` separators. Contacts whose first name or surname is a common word ("Mark",
  "Green") are left out of the alone-forms: keeping such words readable is the design.
- `must_keep`: dates ("Thu 16 Jan", "Jun 5"), weekdays, products, stages, amounts, ids and times,
  with CRM contacts named like months and common words in the index; every detection overlapping
  one of them is damage.
- `hostile_formats`: e-mails at internal domains, phones of many countries with unusual
  separators, cards, IBANs and IPs, with zero-width characters and soft hyphens inside.

Every set is deterministic (fixed seeds). Samples are (text, gold spans) with gold spans
(start, end, label); the label of `known_forms` and `independent_names` samples is the form or
the script, the entity type is in the sample's third element.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import phonenumbers

Gold = tuple[int, int, str]
Sample = tuple[str, list[Gold], str]  # text, gold spans (start, end, entity type), group

SCRIPTS = {
    "Cyrillic": ("ru", "uk", "kk"), "Greek": ("el",), "Arabic": tuple(f"ar-{c}" for c in (
        "ae", "dz", "eg", "jo", "om", "kw", "ma", "qa", "sa", "sy", "tn", "ye")) + ("fa",),
    "Hangul": ("ko",), "Japanese (Kana/Han)": ("ja",), "Chinese (Han)": ("zh",),
}
NAME_TEMPLATES = (
    "Met {name} at the Lisbon summit; they want a demo in Q1.",
    "{name} confirmed the renewal of Brightdesk Pro for 40 agents.",
    "Can you send {name} the updated quote before Friday?",
    "Spoke to {name} about the SLA breach on ticket 88213.",
    "Notes: call with {name}, budget 48,000 EUR, decision by end of March.",
    "Dear {name},\nplease find the proposal attached.",
    "Best regards,\n{name}\nHead of Procurement",
    "{name} (CFO) wants a 3-year term.",
    "Looping in {name} from the finance team.",
    "Who owns the account now that {name} has left?",
    "Intro from {name}: they are evaluating us against two vendors.",
    "Ask {name} whether the PO number changed.",
    "{name} said the pilot went well; stage moves to negotiation.",
    "Forwarded the e-mail from {name} to support.",
    "Meeting with {name} on Thu 16 Jan at 10:00.",
    "Champion: {name}. Budget owner is the COO.",
    "The decision maker is {name}, not the IT lead.",
    "Escalation from {name} about invoice INV-2026-00042.",
    "Reminder: follow up with {name} next Tuesday.",
    "Sent the contract to {name} for signature.",
    "According to {name}, the budget is approved.",
    "{name} and I walked through the Insights dashboard.",
    "Hi {name}, thanks for the quick turnaround!",
    "Please log a call: {name} wants 15% off the Automations add-on.",
)


def _script(locale: str) -> str:
    for script, locales in SCRIPTS.items():
        if locale in locales:
            return script
    return "Latin"


def independent_names(per_locale: int = 30, seed: int = 2026) -> list[Sample]:
    """Sentences with one mimesis-made full name each, `per_locale` per mimesis locale."""
    from mimesis import Locale, Person

    rng = random.Random(seed)
    out: list[Sample] = []
    for locale in Locale:
        person = Person(locale, seed=rng.randrange(1 << 30))
        for _ in range(per_locale):
            name = " ".join(person.full_name().split())
            text, gold = fill(rng.choice(NAME_TEMPLATES), {"name": (name, "PERSON")})
            out.append((text, gold, _script(locale.value)))
    return out


# -- known contacts in every form -------------------------------------------------------------------

FORM_TEMPLATES = (
    "Has anyone spoken to {v} about the renewal?",
    "Owner: {v}; stage proposal; close date 2026-12-01.",
    "Notes from the call with {v} are in the deal record.",
    "Please check with {v} before sending the quote.",
)


def _national_digits(phone: str) -> tuple[str, str]:
    number = phonenumbers.parse(phone, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return "".join(c for c in national if c.isdigit()), e164


def _spaced(phone: str, separator: str) -> str:
    number = phonenumbers.parse(phone, None)
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return text.replace(" ", separator).replace("-", separator)


def known_forms(contacts: Sequence[dict[str, Any]], common: frozenset[str], count: int = 300,
                seed: int = 5) -> list[Sample]:
    """Each of `count` contacts written in every form (one sentence per form and contact)."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for c in rng.sample(list(contacts), min(count, len(contacts))):
        first, last = c["first_name"], c["last_name"]
        digits, e164 = _national_digits(c["phone"])
        forms = {
            "full name": (f"{first} {last}", "PERSON"), "Surname, First": (f"{last}, {first}", "PERSON"),
            "hyphen-joined": (f"{first}-{last}", "PERSON"), "line break": (f"{first}\n{last}", "PERSON"),
            "zero-width inside": (f"{first[:2]}\u200b{first[2:]} {last}", "PERSON"),
            "look-alike letter": (f"{first} {_lookalike(last)}", "PERSON"),
            "e-mail with soft hyphen": (c["email"].replace("@", "\u00ad@", 1), "EMAIL_ADDRESS"),
            "phone: national digit run": (digits, "PHONE_NUMBER"),
            "phone: E.164": (e164, "PHONE_NUMBER"),
            "phone: _ separators": (_spaced(c["phone"], "_"), "PHONE_NUMBER"),
            "phone: · separators": (_spaced(c["phone"], "·"), "PHONE_NUMBER"),
            "phone: / separators": (_spaced(c["phone"], "/"), "PHONE_NUMBER"),
            "phone: en dashes": (_spaced(c["phone"], "\u2013"), "PHONE_NUMBER"),
        }
        if first.casefold() not in common and len(first) >= 3:
            forms["first name alone"] = (first, "PERSON")
        if last.casefold() not in common and len(last) >= 3:
            forms["surname alone"] = (last, "PERSON")
            forms["possessive"] = (f"{last}'s", "PERSON")
        for form, (value, kind) in forms.items():
            template = rng.choice(FORM_TEMPLATES)
            text, gold = fill(template, {"v": (value, kind)})
            if form == "possessive":  # the gold span is the name, not the 's
                gold = [(gold[0][0], gold[0][1] - 2, kind)]
            out.append((text, gold, form))
    return out


_LOOKALIKE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}


def _lookalike(word: str) -> str:
    for i, char in enumerate(word):
        if char in _LOOKALIKE:
            return word[:i] + _LOOKALIKE[char] + word[i + 1:]
    return word


# -- must keep --------------------------------------------------------------------------------------

# Contacts named like months, weekdays and common words, added to the index for this set.
TRICKY_CONTACTS = ("Mark Green", "May Lindqvist", "June Carter", "Jan Brouwer", "April Stone", "Will Baker",
                   "Grace Hall", "Rose Price", "Bill Young", "Sunday Adebayo", "Mar Castillo", "Jun Park")
KEEP_TEMPLATES = (
    "Meeting {date}, then the {product} demo for {amount}.",
    "Mark the deal as {stage} and close it by {date}.",
    "{weekday} works; the {product} quote {id} is {amount}.",
    "Renewal due {date} at {time}; stage {stage}, ticket {id}.",
    "May we move the call to {weekday} {time}? The {product} trial ends {date}.",
    "Price is {amount} for 40 agents, green light expected {date}.",
    "Will the {product} invoice {id} be paid by {date}?",
    "Grant access on {date}; {weekday} at {time} is the go-live.",
)
KEEP_VALUES = {
    "date": ("Thu 16 Jan", "Fri 21 Mar", "Jun 5", "5 May 2026", "Sept 30", "Mon 3 Feb", "Dec 1", "Sat 1 Aug",
             "Tue 14 Apr", "March 2027", "Wed 9 Sep", "Oct 12", "2026-12-01", "Sun 7 Jun", "Jan 2027", "Nov 30th"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "product": ("Brightdesk Pro", "Brightdesk Starter", "Brightdesk Enterprise", "Insights", "Automations",
                "Premium Support"),
    "stage": ("lead", "qualified", "proposal", "negotiation", "closed won", "closed lost"),
    "amount": ("48,500.00 EUR", "$12,000", "€9.900", "1 250 000 SEK", "GBP 7,200"),
    "id": ("#4512", "INV-2026-00042", "88213", "Q-1043", "deal 9921"),
    "time": ("10:00", "14:30", "9am", "16:45 CET"),
}


def must_keep(count: int = 600, seed: int = 17) -> list[Sample]:
    """Sentences whose every placeholder-able part is a value that must stay readable."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for _ in range(count):
        template = rng.choice(KEEP_TEMPLATES)
        values = {k: (rng.choice(v), "KEEP") for k, v in KEEP_VALUES.items()}
        text, gold = fill(template, values)
        out.append((text, gold, "must keep"))
    return out


# -- hostile formats --------------------------------------------------------------------------------

PHONE_REGIONS = ("GB", "US", "FR", "DE", "IT", "ES", "NL", "SE", "PL", "BR", "IN", "JP", "AU", "ZA", "MX", "CH",
                 "IE", "PT", "TR", "KR")
SEPARATORS = (" ", "_", "·", "/", "\u2013", "\u2014", "-", ".")
INTERNAL_DOMAINS = ("ops.local", "intranet.corp", "build.internal", "nas.lan", "hq.example.co.uk", "mail.acme.io")
HOSTILE_TEMPLATES = (
    "Contact details: {v} (from the old export).",
    "She asked us to use {v} from now on.",
    "Updated record with {v}, per the ticket.",
)


def hostile_formats(count: int = 200, seed: int = 23) -> list[Sample]:
    """E-mails, phones, cards, IBANs and IPs written the unusual ways, each with invisibles in half."""
    from faker import Faker
    from mimesis import Internet, Payment, Person

    rng = random.Random(seed)
    person, internet, payment = Person("en", seed=seed), Internet(seed=seed), Payment(seed=seed)
    faker = Faker(["de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT", "en_GB"])
    faker.seed_instance(seed)
    out: list[Sample] = []
    for i in range(count):
        local = person.email().split("@")[0]
        number = phonenumbers.example_number_for_type(rng.choice(PHONE_REGIONS), rng.choice(
            (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)))
        style = rng.choice((phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.NATIONAL))
        phone = phonenumbers.format_number(number, style)
        separator = rng.choice(SEPARATORS)
        phone = phone.replace(" ", separator).replace("-", separator)
        values = {
            "EMAIL_ADDRESS": f"{local}@{rng.choice(INTERNAL_DOMAINS)}",
            "PHONE_NUMBER": phone,
            "CREDIT_CARD": payment.credit_card_number(),
            "IBAN_CODE": faker.iban(),
            "IP_ADDRESS": internet.ip_v4() if i % 3 else internet.ip_v6(),
        }
        for kind, value in values.items():
            if i % 2 and kind in ("EMAIL_ADDRESS", "PHONE_NUMBER"):
                cut = rng.randrange(1, len(value) - 1)
                value = value[:cut] + rng.choice(("\u200b", "\u00ad", "\u2060")) + value[cut:]
            text, gold = fill(rng.choice(HOSTILE_TEMPLATES), {"v": (value, kind)})
            out.append((text, gold, kind))
    return out


def fill(template: str, values: dict[str, tuple[str, str | None]]) -> tuple[str, list[Gold]]:
    """The template with its {fields} filled, and the span of every value with a type."""
    text, gold, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        key, _, rest = after.partition("}")
        text += before
        value, kind = values[key]
        if kind:
            gold.append((len(text), len(text) + len(value), kind))
        text += value
    return text + rest, gold
