"""Demo data: deterministic, realistic in shape, and loadable on both databases."""

from __future__ import annotations

from collections import Counter
from datetime import date

import phonenumbers

from adapters.crm.base import DEAL_STAGES, DealFilter
from adapters.crm.demo.generate import generate
from adapters.crm.local import demo
from adapters.crm.local.adapter import LocalCrm

TODAY = date(2026, 11, 2)


def test_same_seed_and_date_give_the_same_data() -> None:
    first, again = generate(seed=3, today=TODAY), generate(seed=3, today=TODAY)
    assert first == again
    assert generate(seed=4, today=TODAY).contacts != first.contacts


def test_scale_one_has_the_documented_size_and_spread() -> None:
    data = generate(seed=7, today=TODAY)
    counts = data.counts()
    assert counts["companies"] == 200 and counts["deals"] == 600
    assert counts["activities"] == 5000 and counts["tickets"] == 300
    assert 900 <= counts["contacts"] <= 1100
    stages = Counter(d["stage"] for d in data.deals)
    assert set(stages) == set(DEAL_STAGES) and min(stages.values()) >= 30
    assert len({c["email"] for c in data.contacts}) == len(data.contacts)
    for contact in data.contacts[:300]:
        number = phonenumbers.parse(contact["phone"])
        assert phonenumbers.is_valid_number(number), contact["phone"]
    assert len({phonenumbers.parse(c["phone"]).country_code for c in data.contacts}) >= 8
    assert sum(bool(c["aliases"]) for c in data.contacts) >= 10
    # Free-text notes mention real contact data, as real CRM notes do.
    bodies = " ".join(a["body"] for a in data.activities)
    assert any(c["email"] in bodies for c in data.contacts[:200])
    assert generate(scale=2, seed=7, today=TODAY).counts()["companies"] == 400


def test_seeded_crm_is_searchable_and_has_digest_material(engine) -> None:  # type: ignore[no-untyped-def]
    counts = demo.seed(engine, scale=1, seed=7, today=date.today())
    crm = LocalCrm(engine)
    assert demo.company_count(engine) == counts["companies"] == 200
    data = generate(seed=7, today=date.today())
    someone = data.contacts[123]
    hits = crm.search_contacts(f"{someone['first_name']} {someone['last_name']}")
    assert someone["id"] in [h.id for h in hits]
    assert crm.search_contacts(someone["phone"])[0].id == someone["id"]
    assert crm.list_deals(DealFilter(open_only=True, closing_from=date.today()), limit=500)
    # New records after seeding get fresh ids (sequences were moved past the seeded ids).
    created = crm.create("company", {"name": "After Seed Ltd"}, idempotency_key="after-seed").record
    assert created.id == counts["companies"] + 1
    demo.clear(engine)
    assert demo.company_count(engine) == 0 and crm.search_contacts(someone["last_name"]) == []
