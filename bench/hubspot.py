"""HubSpot adapter: API requests per agent tool and per digest, directory sync, our own overhead.

Everything runs against the HubSpot emulator on loopback (tests/fakes/hubspot_emulator.py), so
the figures measure our side: the adapter, HubSpot's SDK and its HTTP client. The emulator's own
time per request (routing, its store, JSON) is recorded and subtracted for the overhead figure.
Request counts are exact and do not depend on the machine. Wall times at HubSpot's default limits
(100 requests per 10 s, search about 4 per second) are computed from the counts: running 1,200
list requests at 10 per second for real would only measure the limiter.

1. A CRM of 500 companies, 3,000 contacts, 1,500 deals, 6,000 activities and 300 tickets (seed
   11), with associations; each read tool's adapter calls 20 times on sampled records.
2. A full digest (all seven sections) through the digest service's `build`, 5 builds; and, for
   comparison, 3 builds that score each lead and account on its own (as before scores shared
   their list reads).
3. The masking directory over 100,000 contacts and 20,000 companies: a full read through the
   list API, then an incremental refresh with nothing changed.
"""

from __future__ import annotations

import gc
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from adapters.crm.base import ActivityFilter, ContactFilter, DealFilter, TicketFilter
from adapters.crm.hubspot.adapter import HubSpotCrm
from adapters.crm.hubspot.client import Limits
from bench.common import cell, load_average, log, machine_info, proc_status_mb, reset_peak_rss
from bot.records import Subscription
from tests.fakes.hubspot_emulator import HubSpotEmulator
from tests.fakes.hubspot_store import iso

NOW = datetime.now(timezone.utc)
UNLIMITED = Limits(requests_per_window=1_000_000, window_seconds=1.0, search_requests_per_second=1_000_000)
DEFAULT = Limits()
STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
          "contractsent", "closedwon", "closedlost")
REPEAT = 20
# get-with-related: the record, then one read per related type present, every kind of activity in
# one (HubSpot reads one object type per request): a deal with its company and contact 3, 4 with
# activities; a contact (company, deals, tickets, activities) or a company (contacts, deals,
# tickets, activities) at most 5.
BUDGETS = {"get_deal (company and contact, no activities)": 3, "get_deal (with activities)": 4,
           "get_contact": 5, "get_company": 5}


def seed(hub: HubSpotEmulator, rng: random.Random, sizes: dict[str, int]) -> dict[str, list[int]]:
    """Records straight into the emulator's store (creating them over HTTP is not what is measured)."""
    store = hub.store
    ids: dict[str, list[int]] = {}
    owners = [str(100 + i) for i in range(8)]
    for i, owner in enumerate(owners):  # first: HubSpot refuses an owner id that is none of its users
        hub.add_owner(int(owner), f"owner{i}@example.com", f"Owner{i}", "Example", ("Sales",))
    ids["companies"] = [store.create("companies", {"name": f"Company {i}", "domain": f"c{i}.example",
                                                   "phone": f"+1 415 555 {i:04d}", "hubspot_owner_id": rng.choice(owners)}).id
                        for i in range(sizes["companies"])]
    ids["contacts"] = []
    for i in range(sizes["contacts"]):
        company = rng.choice(ids["companies"])
        contact = store.create("contacts", {"firstname": f"First{i}", "lastname": f"Last{i % 997}",
                                            "email": f"p{i}@example.com", "lifecyclestage": rng.choice(["lead", "customer"]),
                                            "hubspot_owner_id": rng.choice(owners)},
                               [{"to": {"id": str(company)}, "types": [{"associationTypeId": 1}]}])
        ids["contacts"].append(contact.id)
    ids["deals"] = []
    for i in range(sizes["deals"]):
        close = (NOW + timedelta(days=rng.randint(-60, 90))).replace(hour=0, minute=0, second=0, microsecond=0)
        deal = store.create("deals", {"dealname": f"Deal {i}", "dealstage": rng.choice(STAGES), "pipeline": "default",
                                      "amount": str(rng.randint(1, 500) * 100), "deal_currency_code": "EUR",
                                      "closedate": iso(int(close.timestamp() * 1000)),
                                      "hubspot_owner_id": rng.choice(owners)},
                            [{"to": {"id": str(rng.choice(ids["companies"]))}, "types": [{"associationTypeId": 5}]},
                             {"to": {"id": str(rng.choice(ids["contacts"]))}, "types": [{"associationTypeId": 3}]}])
        ids["deals"].append(deal.id)
    kinds = (("notes", "hs_note_body", 202, 214), ("calls", "hs_call_title", 194, 206),
             ("meetings", "hs_meeting_title", 200, 212), ("emails", "hs_email_subject", 198, 210),
             ("tasks", "hs_task_subject", 204, 216))
    for i in range(sizes["activities"]):
        object_type, text, to_contact, to_deal = rng.choice(kinds)
        when = iso(int((NOW - timedelta(days=rng.randint(0, 90))).timestamp() * 1000))
        store.create(object_type, {text: f"Activity {i}", "hs_timestamp": when},
                     [{"to": {"id": str(rng.choice(ids["contacts"]))}, "types": [{"associationTypeId": to_contact}]},
                      {"to": {"id": str(rng.choice(ids["deals"]))}, "types": [{"associationTypeId": to_deal}]}])
    ids["tickets"] = []
    for i in range(sizes["tickets"]):
        ticket = store.create("tickets", {"subject": f"Ticket {i}", "hs_pipeline": "0",
                                          "hs_pipeline_stage": rng.choice("1234"),
                                          "hs_ticket_priority": rng.choice(["LOW", "MEDIUM", "HIGH", "URGENT"])},
                              [{"to": {"id": str(rng.choice(ids["companies"]))}, "types": [{"associationTypeId": 26}]}])
        # HubSpot calculates the SLA due time from its SLA policies; no API writes it.
        due = iso(int((NOW + timedelta(hours=rng.randint(-48, 48))).timestamp() * 1000))
        store.calculate("tickets", ticket.id, hs_time_to_close_sla_due_date=due)
        ids["tickets"].append(ticket.id)
    ids["bare_deals"] = [store.create("deals", {"dealname": f"Bare {i}", "dealstage": "qualifiedtobuy", "pipeline": "default",
                                                "amount": "100"},
                                      [{"to": {"id": str(rng.choice(ids["companies"]))}, "types": [{"associationTypeId": 5}]},
                                       {"to": {"id": str(rng.choice(ids["contacts"]))}, "types": [{"associationTypeId": 3}]}]).id
                         for i in range(REPEAT)]
    return ids


def per_call(hub: HubSpotEmulator, fn: Callable[[], Any]) -> tuple[int, float, float]:
    """(requests, wall seconds, emulator seconds) of one call."""
    before = len(hub.requests)
    started = time.perf_counter()
    fn()
    wall = time.perf_counter() - started
    made = hub.requests[before:]
    return len(made), wall, sum(r.server_s for r in made)


def tools(hub: HubSpotEmulator, crm: HubSpotCrm, ids: dict[str, list[int]], rng: random.Random) -> dict[str, Any]:
    today = NOW.date()
    cases: dict[str, Callable[[], Callable[[], Any]]] = {
        "search_contacts": lambda: (lambda n=rng.randrange(3000): crm.search_contacts(f"First{n}")),
        "search_companies": lambda: (lambda n=rng.randrange(500): crm.search_companies(f"Company {n}")),
        "get_contact": lambda: (lambda i=rng.choice(ids["contacts"]): crm.get_contact(i)),
        "get_company": lambda: (lambda i=rng.choice(ids["companies"]): crm.get_company(i)),
        "get_deal (company and contact, no activities)": lambda: (lambda i=rng.choice(ids["bare_deals"]): crm.get_deal(i)),
        "get_deal (with activities)": lambda: (lambda i=rng.choice(ids["deals"]): crm.get_deal(i)),
        "list_deals (closing in 7 days)": lambda: (lambda: crm.list_deals(DealFilter(
            open_only=True, closing_from=today, closing_to=today + timedelta(days=7)))),
        "list_deals (stale 14 days)": lambda: (lambda: crm.list_deals(DealFilter(
            open_only=True, no_activity_since=NOW - timedelta(days=14)))),
        "list_deals (one owner)": lambda: (lambda: crm.list_deals(DealFilter(owner="101", open_only=True))),
        "list_activities (one deal)": lambda: (lambda i=rng.choice(ids["deals"]): crm.list_activities(
            ActivityFilter(deal_id=i))),
        "list_tickets (SLA breached)": lambda: (lambda: crm.list_tickets(TicketFilter(
            statuses=("open", "pending"), sla_breached_at=NOW))),
        "list_contacts (new leads)": lambda: (lambda: crm.list_contacts(ContactFilter(lifecycle_stages=("lead",)))),
    }
    results: dict[str, Any] = {}
    overhead: list[float] = []
    for name, make in cases.items():
        counts, walls, serves = [], [], []
        for _ in range(REPEAT):
            n, wall, served = per_call(hub, make())
            counts.append(n)
            walls.append(wall)
            serves.append(served)
            overhead.append((wall - served) / max(n, 1))
        searches = sum(1 for r in hub.requests[-sum(counts[-1:]):] if r.path.endswith("/search"))
        results[name] = {"requests": max(counts), "requests_min": min(counts), "p50_ms": statistics.median(walls) * 1000,
                         "emulator_p50_ms": statistics.median(serves) * 1000, "searches": searches}
    return {"tools": results, "overhead_per_request_p50_ms": statistics.median(overhead) * 1000}


def digest(hub: HubSpotEmulator, crm: HubSpotCrm) -> dict[str, Any]:
    """A full digest's requests and time: as built now (scores of several records share their list
    reads) and as before (each lead and account scored on its own), on the same data."""
    return {"shared": _digest(hub, crm, one_by_one=False), "one_by_one": _digest(hub, crm, one_by_one=True)}


def _digest(hub: HubSpotEmulator, crm: HubSpotCrm, *, one_by_one: bool) -> dict[str, Any]:
    from unittest import mock

    from bench.digests import SUB
    from bot import scoring
    from bot.config import DigestSectionsSection, SchedulerSection
    from bot.digests.sections import SectionBuilder
    from bot.digests.service import DigestService
    from bot.store import schema
    from bot.store.digests import SqlDigests
    from bot.store.engine import make_engine

    def leads(c: Any, ids: Any, *, now: datetime) -> dict[int, Any]:
        found = {}
        for i in ids:
            try:
                found[i] = scoring.lead_score(c, i, now=now)
            except scoring.NotFoundError:
                continue
        return found

    def risks(c: Any, companies: Any, *, now: datetime) -> dict[int, Any]:
        return {co.id: scoring.churn_risk(c, co.id, now=now) for co in companies}

    patches = [mock.patch("bot.digests.sections.lead_scores", leads),
               mock.patch("bot.digests.sections.churn_risks", risks)] if one_by_one else []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        schema.upgrade(engine)
        service = DigestService(SqlDigests(engine), SectionBuilder(crm, lambda: [], DigestSectionsSection()),
                                settings=SchedulerSection(), groups={}, clock=lambda: NOW, instance="bench")
        runs = []
        for p in patches:
            p.start()
        try:
            for _ in range(3 if one_by_one else 5):
                before = len(hub.requests)
                started = time.perf_counter()
                service.build(SUB, NOW, NOW)
                made = hub.requests[before:]
                runs.append({"s": time.perf_counter() - started, "requests": len(made),
                             "searches": sum(1 for r in made if r.path.endswith("/search")),
                             "emulator_s": sum(r.server_s for r in made)})
        finally:
            for p in patches:
                p.stop()
        engine.dispose()
    assert isinstance(SUB, Subscription)
    median = sorted(runs, key=lambda r: r["s"])[len(runs) // 2]
    return {"runs": runs, "median": median,
            "at_default_limits_s": _limited_seconds(median["requests"], median["searches"])}


def _limited_seconds(requests: int, searches: int) -> float:
    """The least time `requests` (of which `searches` are searches) take under the default limits."""
    burst = max(0, requests - DEFAULT.requests_per_window) / DEFAULT.requests_per_window * DEFAULT.window_seconds
    search = max(0, searches - int(DEFAULT.search_requests_per_second)) / DEFAULT.search_requests_per_second
    return max(burst, search)


def directory(contacts: int, companies: int) -> dict[str, Any]:
    # Records made a minute apart, as in an account that grew over time: only the newest fall into
    # the refresh's overlap window.
    clock = [NOW.timestamp() - (contacts + companies) * 60]

    def made() -> float:
        clock[0] += 60
        return clock[0]

    with HubSpotEmulator(clock=made) as hub:
        store = hub.store
        for i in range(companies):
            store.create("companies", {"name": f"Company {i}", "phone": f"+1 415 555 {i % 10_000:04d}"})
        for i in range(contacts):
            store.create("contacts", {"firstname": f"First{i}", "lastname": f"Last{i}", "email": f"p{i}@example.com",
                                      "phone": f"+44 20 7946 {i % 10_000:04d}"})
        crm = HubSpotCrm.connect(hub.token, hub.base_url, limits=UNLIMITED)
        gc.collect()
        before = proc_status_mb()["VmRSS"]
        reset_peak_rss()
        started = time.perf_counter()
        entries = list(crm.directory())
        full_s = time.perf_counter() - started
        full_requests = len(hub.requests)
        gc.collect()
        after = proc_status_mb()
        retained, peak = (after["VmRSS"] - before) * 1e6, (after["VmHWM"] - before) * 1e6
        emulator_s = sum(r.server_s for r in hub.requests)
        started = time.perf_counter()
        again = list(crm.directory())
        refresh_s = time.perf_counter() - started
        refresh_requests = len(hub.requests) - full_requests
        assert len(entries) == len(again) == contacts + companies
    return {"contacts": contacts, "companies": companies, "entries": len(entries), "full_requests": full_requests,
            "full_s": full_s, "emulator_s": emulator_s, "at_default_limit_s": _limited_seconds(full_requests, 0),
            "refresh_requests": refresh_requests, "refresh_s": refresh_s,
            "retained_mb": retained / 1e6, "peak_mb": peak / 1e6}


def run() -> dict[str, Any]:
    started = time.perf_counter()
    machine = machine_info(databases=False, libraries=("hubspot-api-client",))
    rng = random.Random(11)
    sizes = {"companies": 500, "contacts": 3_000, "deals": 1_500, "activities": 6_000, "tickets": 300}
    with HubSpotEmulator() as hub:
        log("hubspot: seeding the emulator")
        ids = seed(hub, rng, sizes)
        crm = HubSpotCrm.connect(hub.token, hub.base_url, limits=UNLIMITED)
        log("hubspot: read tools")
        tool_data = tools(hub, crm, ids, rng)
        log("hubspot: digest")
        digest_data = digest(hub, crm)
    log("hubspot: directory of 100,000 contacts and 20,000 companies")
    directory_data = directory(100_000, 20_000)
    machine["load_avg_1m_at_end"] = load_average()
    data = {"sizes": sizes, **tool_data, "digest": digest_data, "directory": directory_data}
    return {"suite": "hubspot", "title": "HubSpot adapter", "duration_s": time.perf_counter() - started,
            "machine": machine, "sections": _sections(data), "data": data}


def _sections(d: dict[str, Any]) -> list[dict[str, Any]]:
    col = "HubSpot emulator"
    rows = []
    for name, t in d["tools"].items():
        budget = BUDGETS.get(name)
        requests = {"text": f"{t['requests_min']}–{t['requests']}" if t["requests_min"] != t["requests"]
                    else str(t["requests"]), "value": t["requests"],
                    "pass": (t["requests"] <= budget) if budget else None}
        rows.append({"measure": f"{name}: requests per call", "target": f"≤ {budget}" if budget else None,
                     "cells": {col: requests}})
        rows.append({"measure": f"  p50 wall time (emulator's share {t['emulator_p50_ms']:.1f} ms)", "target": None,
                     "cells": {col: cell(t["p50_ms"], "ms", digits=1)}})
    rows.append({"measure": "Adapter overhead per request, p50 (SDK, HTTP client, mapping; emulator time subtracted)",
                 "target": None, "cells": {col: cell(d["overhead_per_request_p50_ms"], "ms", digits=2)}})
    for key, label in (("shared", "Full digest (7 sections)"), ("one_by_one", "  before: each record scored alone")):
        g = d["digest"][key]["median"]
        rows += [
            {"measure": f"{label}: requests", "target": None,
             "cells": {col: {"text": f"{g['requests']} ({g['searches']} searches)", "value": g["requests"],
                             "pass": None}}},
            {"measure": f"{'  ' if key == 'shared' else '    '}wall time, median, limiter off (emulator's share "
                        f"{g['emulator_s']:.1f} s)", "target": None, "cells": {col: cell(g["s"], "s", digits=2)}},
            {"measure": f"{'  ' if key == 'shared' else '    '}least time at the default limits (computed)",
             "target": None, "cells": {col: cell(d["digest"][key]["at_default_limits_s"], "s", digits=1)}},
        ]
    r = d["directory"]
    rows += [
        {"measure": f"Directory, {r['contacts']:,} contacts + {r['companies']:,} companies: requests (full read)",
         "target": None, "cells": {col: {"text": f"{r['full_requests']:,}", "value": r["full_requests"], "pass": None}}},
        {"measure": "  wall time, limiter off (emulator's share "
                    f"{r['emulator_s']:.0f} s)", "target": None, "cells": {col: cell(r["full_s"], "s", digits=1)}},
        {"measure": "  at the default limit of 100 requests per 10 s (computed)", "target": None,
         "cells": {col: cell(r["at_default_limit_s"], "s", digits=0)}},
        {"measure": "  memory: process RSS growth after the read (peak during it)", "target": None,
         "cells": {col: {"text": f"{r['retained_mb']:.0f} MB ({r['peak_mb']:.0f} MB)", "value": r["retained_mb"],
                         "pass": None}}},
        {"measure": "  refresh with nothing changed: requests / time", "target": None,
         "cells": {col: {"text": f"{r['refresh_requests']} / {r['refresh_s'] * 1000:.0f} ms",
                         "value": r["refresh_requests"], "pass": None}}},
    ]
    sizes = ", ".join(f"{v:,} {k}" for k, v in d["sizes"].items())
    notes = [
        f"Data for the tools and the digest: {sizes} (seed 11), each contact with a company, each deal with a "
        "company and a contact, each activity (of the five kinds) with a contact and a deal. Tool figures are over "
        f"{REPEAT} calls on sampled records; a range means the count depends on the record (how many related types "
        "it has). A get reads the record with its association ids, then one batch per related type present and the "
        "activities of every kind in one request (HubSpot's v1 Engagements API), all at once (the wait is about two "
        "round trips): 3 for a deal with its company and contact, 4 with activities, at most 5 for a contact or a "
        "company. HubSpot's REST API reads one object type per request, so the issue's 3 holds only for records with "
        "at most two related types.",
        "Digest, now and before: scoring 50 leads and 50 accounts shares each list read among five records (one "
        "HubSpot search holds five records' filters); before, every record had its own reads (four activity "
        "searches, tickets, lost and open deals per account). With the limiter off the shared build is not faster: "
        "the emulator scans every record once per filter group, so a search for five records costs it five times "
        "one; our side (wall time less the emulator's share) is about the same. On HubSpot the limits decide.",
        "The limiter is switched off for the timings; the computed times are the least the default limits allow "
        "(100 requests per 10 s; searches 4 per second), which dominate on a real account.",
        "Memory: the process's resident set (VmRSS) after the read minus before it, and its peak (VmHWM, reset before "
        "the read) minus the same start; the emulator's 120,000 records were loaded before. The growth is what the "
        "adapter keeps (the directory entries) plus memory Python holds on to after freeing the pages' JSON.",
    ]
    return [{"title": "HubSpot adapter", "description": __doc__.split("\n", 1)[1].strip(), "columns": [col],
             "rows": rows, "notes": notes}]
