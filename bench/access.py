"""The cost of the trust boundary: admitting a person, reading through their scope, checking an audience.

Targets (issue: trust boundary): access checks add at most 0.5 ms per agent run (p50, people
cache warm) and at most 5 ms to a channel answer's audience check with 500 channel members.

An agent run passes the door once (admit, or a cached admission) and reads through a ScopedCrm.
The per-run overhead measured here is admit() warm plus, for a run that calls get_deal and
list_deals, the difference of medians between the scoped view and the bare adapter, measured side
by side in one process on the scale-1 demo CRM (SQLite). The audience check is `everyone_sees`
over 500 members (sales reps with team scope, 100 per group) against the owners of the records
an answer used.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from adapters.crm.base import DealFilter
from adapters.crm.local import demo
from adapters.crm.local.adapter import LocalCrm
from bench.common import at_most, load_average, log, machine_info, quiet_gc, summarize
from bot.access.people import FixedUsers, People, Profile
from bot.access.scope import Scope
from bot.access.scoped_crm import ScopedCrm
from bot.access.service import Access
from bot.access.settings import AccessSection
from bot.store import schema
from bot.store.engine import make_engine

MEMBERS = 500
TEAM = 100
ROUNDS = 2000


def _people(crm: LocalCrm) -> tuple[People, list[str]]:
    users = [f"U{n:05d}" for n in range(MEMBERS)]
    owners = {o.id: o for o in crm.owners()}
    emails = [o.email for o in owners.values()]
    profiles = [Profile(u, f"Person {n}", emails[n] if n < len(emails) else f"p{n}@example.com", team_id="T1")
                for n, u in enumerate(users)]
    # The asker's team holds two of the five demo owners (users 0 and 1), like a rep among reps.
    groups = {f"team{g}": tuple(users[g * TEAM:(g + 1) * TEAM]) for g in range(MEMBERS // TEAM)}
    groups["team0"] = tuple(users[:2]) + tuple(users[5:TEAM])
    return People(FixedUsers(profiles), crm.owners, groups=groups), users


def run() -> dict[str, Any]:
    started = time.perf_counter()
    machine = machine_info(databases=False)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        schema.upgrade(engine)
        demo.seed(engine, scale=1, seed=7, today=date(2026, 12, 1))
        crm = LocalCrm(engine)
        people, users = _people(crm)
        access = Access(people, AccessSection(), home_teams=("T1",))
        data = asyncio.run(_measure(access, crm, users))
        engine.dispose()
    machine["load_avg_1m_at_end"] = load_average()
    return {"suite": "access", "title": "Access checks", "duration_s": time.perf_counter() - started,
            "machine": machine, "sections": _sections(data), "data": data}


async def _measure(access: Access, crm: LocalCrm, users: list[str]) -> dict[str, Any]:
    log(f"access: admit (warm) x {ROUNDS}, scoped reads side by side, audience of {MEMBERS}")
    asker = users[1]
    await access.admit(asker)  # warm the profile and owner caches
    admit_ns = []
    with quiet_gc():
        for _ in range(ROUNDS):
            t = time.perf_counter_ns()
            await access.admit(asker)
            admit_ns.append(time.perf_counter_ns() - t)
    scope = await access.scope_of(asker)
    assert scope is not None
    deal_ids = [d.id for d in crm.list_deals(DealFilter(), limit=200)]
    bare_ns, scoped_ns = [], []
    with quiet_gc():
        for n in range(400):  # alternate so both see the same machine noise
            deal_id = deal_ids[n % len(deal_ids)]
            for target, into in ((crm, bare_ns), (ScopedCrm(crm, scope), scoped_ns)):
                t = time.perf_counter_ns()
                target.get_deal(deal_id)
                target.list_deals(DealFilter(open_only=True), limit=20)
                into.append(time.perf_counter_ns() - t)
    owners = {o.id for o in crm.owners()[:2]}
    await access.everyone_sees(users, owners)  # warm every member's admission
    audience_ns = []
    with quiet_gc():
        for _ in range(200):
            t = time.perf_counter_ns()
            await access.everyone_sees(users, owners)
            audience_ns.append(time.perf_counter_ns() - t)
    admit = summarize(admit_ns)
    reads = {"bare": summarize(bare_ns), "scoped": summarize(scoped_ns)}
    read_overhead = (statistics.median(scoped_ns) - statistics.median(bare_ns)) / 1e6
    return {"admit": admit, "reads": reads, "read_overhead_ms": read_overhead,
            "per_run_ms": admit["p50_ms"] + max(0.0, read_overhead), "audience": summarize(audience_ns),
            "scope_owners": sorted(scope.owners or ())}


def _sections(d: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [
        {"measure": "per agent run: admit (warm) + scoped get_deal and list_deals over the bare adapter, p50",
         "target": "≤ 0.5 ms", "cells": {"SQLite, scale-1 demo": at_most(d["per_run_ms"], "ms", 0.5, 3)}},
        {"measure": "admit, people cache warm, p50 / p99", "target": None,
         "cells": {"SQLite, scale-1 demo": {"text": f"{d['admit']['p50_ms']:.4f} / {d['admit']['p99_ms']:.4f} ms",
                                           "value": d["admit"]["p50_ms"], "unit": "ms", "pass": None}}},
        {"measure": "get_deal + list_deals, bare / scoped, p50", "target": None,
         "cells": {"SQLite, scale-1 demo": {"text": f"{d['reads']['bare']['p50_ms']:.3f} / "
                                                   f"{d['reads']['scoped']['p50_ms']:.3f} ms",
                                           "value": d["read_overhead_ms"], "unit": "ms", "pass": None}}},
        {"measure": f"audience check, {MEMBERS} channel members, p50", "target": "≤ 5 ms",
         "cells": {"SQLite, scale-1 demo": at_most(d["audience"]["p50_ms"], "ms", 5.0, 3)}},
    ]
    return [{"title": "Trust boundary", "description": __doc__.split("\n\n", 1)[1].strip(),
             "columns": ["SQLite, scale-1 demo"], "rows": rows, "tables": [], "notes": []}]
