"""Generate a deterministic, plausible CRM: the same seed and reference date give the same data.

At scale 1: 200 companies, about 1,000 contacts, 600 deals, 5,000 activities, 300 tickets;
every count grows linearly with the scale. Rows are plain dicts keyed by column name with
explicit ids from 1, so any adapter can bulk-load them.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from adapters.crm.demo import vocabulary as v

STAGE_WEIGHTS = {
    "lead": 20, "qualified": 18, "proposal": 15, "negotiation": 10, "closed_won": 22, "closed_lost": 15,
}
ACTIVITY_WEIGHTS = {"note": 30, "call": 25, "meeting": 15, "email": 20, "task": 10}
PRIORITY_WEIGHTS = {"low": 20, "normal": 50, "high": 22, "urgent": 8}
STATUS_WEIGHTS = {"open": 35, "pending": 20, "solved": 30, "closed": 15}
SLA_HOURS = {"low": 72, "normal": 24, "high": 8, "urgent": 4}


@dataclass
class DemoData:
    companies: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    deals: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "companies": len(self.companies), "contacts": len(self.contacts), "deals": len(self.deals),
            "activities": len(self.activities), "tickets": len(self.tickets),
        }


def generate(*, scale: int = 1, seed: int = 7, today: date) -> DemoData:
    """Build the demo CRM; `today` anchors every date so digests have current material."""
    return _Generator(seed, today).run(scale)


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", plain.lower())


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _Generator:
    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.now = datetime.combine(today, time(9, 0), tzinfo=timezone.utc)
        self.today = today
        self.fakers = {}
        for i, market in enumerate(v.MARKETS):
            fake = Faker(market[0])
            fake.seed_instance(seed * 1000 + i)
            self.fakers[market[0]] = fake
        self.data = DemoData()
        self.used_domains: set[str] = set()
        self.used_emails: set[str] = set()

    def run(self, scale: int) -> DemoData:
        for _ in range(200 * scale):
            self._company()
        contacts_by_company: dict[int, list[dict[str, Any]]] = {}
        for company in self.data.companies:
            for _ in range(self.rng.choice((3, 4, 5, 5, 6, 7))):
                contacts_by_company.setdefault(company["id"], []).append(self._contact(company))
        companies = self.data.companies
        for _ in range(600 * scale):
            company = self.rng.choice(companies)
            self._deal(company, self.rng.choice(contacts_by_company[company["id"]]))
        deals_by_company: dict[int, list[dict[str, Any]]] = {}
        for deal in self.data.deals:
            deals_by_company.setdefault(deal["company_id"], []).append(deal)
        for _ in range(5000 * scale):
            company = self.rng.choice(companies)
            self._activity(company, contacts_by_company[company["id"]], deals_by_company.get(company["id"], []))
        for _ in range(300 * scale):
            company = self.rng.choice(companies)
            self._ticket(company, self.rng.choice(contacts_by_company[company["id"]]))
        self._lifecycle(deals_by_company)
        return self.data

    # -- records ------------------------------------------------------------------------------

    def _company(self) -> None:
        market = self.rng.choices(v.MARKETS, weights=v.MARKET_WEIGHTS)[0]
        fake = self.fakers[market[0]]
        name = fake.company()
        base = _ascii(name.split(",")[0].split(" ")[0]) or "company"
        domain = f"{base}.{market[3]}"
        suffix = 2
        while domain in self.used_domains:
            domain, suffix = f"{base}{suffix}.{market[3]}", suffix + 1
        self.used_domains.add(domain)
        created = self.now - timedelta(days=self.rng.randint(200, 1500))
        self.data.companies.append({
            "id": len(self.data.companies) + 1, "name": name, "domain": domain,
            "industry": self.rng.choice(v.INDUSTRIES),
            "employees": int(self.rng.lognormvariate(5.0, 1.2)) + 10,
            "country": market[2], "phone": self._phone(market[1], PhoneNumberType.FIXED_LINE),
            "owner": self.rng.choice(v.OWNERS), "external_id": None,
            "created_at": created, "updated_at": created, "version": 1,
            "_market": market,
        })

    def _contact(self, company: dict[str, Any]) -> dict[str, Any]:
        market = company["_market"]
        fake = self.fakers[market[0]]
        first, last = fake.first_name(), fake.last_name()
        local = ".".join(part for part in (_ascii(first), _ascii(last)) if part) or "contact"
        email = f"{local}@{company['domain']}"
        n = 2
        while email in self.used_emails:
            email, n = f"{local}{n}@{company['domain']}", n + 1
        self.used_emails.add(email)
        aliases = []
        if first in v.NICKNAMES and self.rng.random() < 0.6:
            aliases.append(f"{v.NICKNAMES[first]} {last}")
        kind = PhoneNumberType.MOBILE if self.rng.random() < 0.6 else PhoneNumberType.FIXED_LINE
        created = company["created_at"] + timedelta(days=self.rng.randint(0, 150))
        contact = {
            "id": len(self.data.contacts) + 1, "company_id": company["id"],
            "first_name": first, "last_name": last, "email": email,
            "phone": self._phone(market[1], kind), "title": self.rng.choice(v.TITLES),
            "aliases": aliases, "lifecycle_stage": "lead",
            "lead_source": self.rng.choice(v.LEAD_SOURCES), "owner": company["owner"],
            "external_id": None, "created_at": created, "updated_at": created, "version": 1,
        }
        self.data.contacts.append(contact)
        return contact

    def _deal(self, company: dict[str, Any], contact: dict[str, Any]) -> None:
        stage = _pick(self.rng, STAGE_WEIGHTS)
        product, price = self.rng.choices(v.PRODUCTS, weights=(3, 5, 2))[0]
        seats = self.rng.choice((5, 10, 15, 25, 40, 60, 100, 150))
        amount = Decimal(price * 12 * seats).quantize(Decimal("1")) * Decimal(self.rng.choice((1, 1, 2, 3)))
        if stage in ("closed_won", "closed_lost"):
            close = self.today - timedelta(days=self.rng.randint(1, 365))
        else:
            close = self.today + timedelta(days=self.rng.randint(-15, 120))
        created = datetime.combine(close, time(10), tzinfo=timezone.utc) - timedelta(days=self.rng.randint(20, 200))
        created = min(created, self.now - timedelta(days=1))
        changed = created + (self.now - created) * self.rng.random() * 0.9
        self.data.deals.append({
            "id": len(self.data.deals) + 1,
            "name": f"{company['name']} – {product} ({seats} agents)",
            "company_id": company["id"], "contact_id": contact["id"], "stage": stage,
            "amount": amount, "currency": company["_market"][4], "close_date": close,
            "owner": company["owner"] if self.rng.random() < 0.85 else self.rng.choice(v.OWNERS),
            "stage_changed_at": changed, "last_activity_at": None, "external_id": None,
            "created_at": created, "updated_at": changed, "version": 1,
            "_product": product, "_seats": seats,
        })

    def _activity(self, company: dict[str, Any], contacts: list[dict[str, Any]], deals: list[dict[str, Any]]) -> None:
        kind = _pick(self.rng, ACTIVITY_WEIGHTS)
        contact = self.rng.choice(contacts)
        deal = self.rng.choice(deals) if deals and self.rng.random() < 0.6 else None
        start = deal["created_at"] if deal else company["created_at"]
        span = max((self.now - start).total_seconds(), 3600.0)
        occurred = start + timedelta(seconds=self.rng.random() ** 0.5 * span)
        text = self._text(kind, contact, deal, company)
        due = occurred + timedelta(days=self.rng.randint(1, 14)) if kind == "task" else None
        done = kind != "task" or due < self.now - timedelta(days=2) or self.rng.random() < 0.3
        self.data.activities.append({
            "id": len(self.data.activities) + 1, "kind": kind,
            "subject": text if kind == "task" else text.split(";")[0].split(".")[0][:120],
            "body": "" if kind == "task" else text,
            "company_id": company["id"], "contact_id": contact["id"],
            "deal_id": deal["id"] if deal else None, "owner": company["owner"],
            "occurred_at": occurred, "due_at": due, "done": done,
            "created_at": occurred, "updated_at": occurred, "version": 1,
        })
        if deal and (deal["last_activity_at"] is None or occurred > deal["last_activity_at"]):
            deal["last_activity_at"] = occurred

    def _ticket(self, company: dict[str, Any], contact: dict[str, Any]) -> None:
        priority = _pick(self.rng, PRIORITY_WEIGHTS)
        status = _pick(self.rng, STATUS_WEIGHTS)
        created = self.now - timedelta(hours=self.rng.randint(1, 60 * 24))
        body = v.TICKET_BODY.format(
            contact=f"{contact['first_name']} {contact['last_name']}", email=contact["email"],
            phone=contact["phone"], detail=self.rng.choice(v.TICKET_DETAILS),
            impact=self.rng.choice(v.TICKET_IMPACTS),
        )
        self.data.tickets.append({
            "id": len(self.data.tickets) + 1, "subject": self.rng.choice(v.TICKET_SUBJECTS), "body": body,
            "company_id": company["id"], "contact_id": contact["id"], "priority": priority,
            "status": status, "sla_due_at": created + timedelta(hours=SLA_HOURS[priority]),
            "owner": None, "created_at": created, "updated_at": created, "version": 1,
        })

    # -- helpers ------------------------------------------------------------------------------

    def _text(self, kind: str, contact: dict[str, Any], deal: dict[str, Any] | None, company: dict[str, Any]) -> str:
        templates = {
            "note": v.NOTE_TEMPLATES, "call": v.CALL_TEMPLATES, "meeting": v.MEETING_TEMPLATES,
            "email": v.EMAIL_TEMPLATES, "task": v.TASK_TEMPLATES,
        }[kind]
        when = self.today + timedelta(days=self.rng.randint(3, 60))
        return self.rng.choice(templates).format(
            contact=f"{contact['first_name']} {contact['last_name']}", email=contact["email"],
            phone=contact["phone"], product=deal["_product"] if deal else "Brightdesk Pro",
            seats=deal["_seats"] if deal else self.rng.choice((10, 25, 50)),
            amount=f"{deal['amount'] if deal else 12000:,}", currency=company["_market"][4],
            date=when.strftime("%d %B %Y"),
        )

    def _phone(self, region: str, kind: int) -> str:
        example = phonenumbers.example_number_for_type(region, kind)
        national = str(example.national_number)
        for _ in range(30):
            keep = max(2, len(national) - 7)
            digits = national[:keep] + "".join(str(self.rng.randint(0, 9)) for _ in national[keep:])
            # Parsing the text (not building the number by hand) keeps Italy's leading zero.
            lead = "0" if example.italian_leading_zero else ""
            number = phonenumbers.parse(f"+{example.country_code}{lead}{digits}", None)
            if phonenumbers.is_valid_number(number):
                return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        return phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)

    def _lifecycle(self, deals_by_company: dict[int, list[dict[str, Any]]]) -> None:
        for contact in self.data.contacts:
            deals = deals_by_company.get(contact["company_id"], [])
            if any(d["stage"] == "closed_won" for d in deals):
                contact["lifecycle_stage"] = "customer"
            elif deals:
                contact["lifecycle_stage"] = "prospect"
