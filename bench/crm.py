"""CRM figures: seeding the demo through the real CLI, free-text search and get-with-related.

The query mix is sampled from the seeded data with a fixed random seed, so every run asks the
same questions, in the same order, of both databases. Each query remembers the record it was
sampled from; the hit rate is the share of queries naming one record (a full name, an e-mail, a
phone number, a company name) whose record is among the results. Prefix and last-name queries
match many records by design and are timed, but not expected to return that one record.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat
from sqlalchemy import Engine, text

from adapters.crm.local import demo
from adapters.crm.local.adapter import LocalCrm
from bench.common import POSTGRES, REPO, SQLITE, log, quiet_gc, summarize, time_call
from bot.store import schema
from bot.store.engine import make_engine

SEARCH_LIMIT = 20  # crm.search_limit in app.toml: what the bot asks for

# category -> (number of queries, whether the sampled record must be among the results).
# None marks queries built to match nothing: they pass when the result is empty.
CATEGORIES: dict[str, tuple[int, bool | None]] = {
    "full name": (100, True),
    "first-name prefix": (60, False),
    "last name": (60, False),
    "e-mail": (70, True),
    "company name": (70, True),
    "company-name prefix": (50, False),
    "phone, international": (60, True),
    "phone, national (trunk 0)": (60, True),
    "no match": (70, None),
}


@dataclass(frozen=True)
class Query:
    category: str
    kind: str  # "contact" or "company": which search the query goes to
    text: str
    record_id: int | None  # the record it was sampled from
    expect: bool | None  # see CATEGORIES


# -- figure 1: seed-demo through the CLI ----------------------------------------------------------


def _cli_env() -> dict[str, str]:
    """The environment minus what would override the temporary app.toml.

    DATABASE_URL wins over database.url and BOT_<SECTION>__<KEY> over any key, so an operator's
    settings could otherwise send the benchmark into a real database.
    """
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("BOT_")}


def _run_cli(config: Path, *args: str) -> tuple[float, str]:
    """Wall seconds and stdout of `python -m bot --config config ARGS`; fails loudly."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        cwd=REPO, env=_cli_env(), capture_output=True, text=True, check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"python -m bot {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return elapsed, proc.stdout.strip()


def seed_with_cli(workdir: Path, *, scale: int, seed: int, today: date) -> dict[str, Any]:
    """Migrate a fresh SQLite file with the CLI, then time only `seed-demo` on it."""
    db = workdir / "bench.db"
    config = workdir / "app.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{db}"\n\n[kb]\npath = "{Path(REPO) / "kb"}"\n', encoding="utf-8"
    )
    migrate_s, _ = _run_cli(config, "migrate")
    seed_s, out = _run_cli(
        config, "seed-demo", "--scale", str(scale), "--seed", str(seed), "--today", today.isoformat()
    )
    counts = {kind: int(n.replace(",", "")) for n, kind in re.findall(r"([\d,]+) ([a-z]+)", out)}
    if not counts:
        raise RuntimeError(f"seed-demo printed no counts: {out!r}")
    return {
        "url": f"sqlite:///{db}", "command": f"python -m bot seed-demo --scale {scale} --seed {seed} "
        f"--today {today.isoformat()}", "wall_s": seed_s, "migrate_s": migrate_s, "counts": counts,
        "output": out,
    }


# -- the query mix --------------------------------------------------------------------------------


def _letters_prefix(word: str) -> str:
    """The leading run of letters of word ("Jean-Luc" -> "Jean")."""
    match = re.match(r"[^\W\d_]+", word)
    return match.group(0) if match else ""


def _national(phone: str) -> str | None:
    """National form of a stored international number, when it starts with a trunk 0."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return national if national.startswith("0") else None


def build_query_mix(engine: Engine, *, seed: int) -> tuple[list[Query], dict[str, Any]]:
    """A deterministic, shuffled list of queries sampled from the seeded CRM (see CATEGORIES),
    and statistics of the sampled data."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        contacts = conn.execute(text(
            "SELECT id, first_name, last_name, email, phone FROM crm_contact ORDER BY id"
        )).all()
        companies = conn.execute(text("SELECT id, name, phone FROM crm_company ORDER BY id")).all()
    all_phones = [("contact", c.id, c.phone) for c in contacts if c.phone] + [
        ("company", c.id, c.phone) for c in companies if c.phone
    ]
    # A number several records share cannot name one of them, so only unique numbers are asked
    # for; how many records share a number is reported (it is a property of the demo data).
    uses = Counter(p for _, _, p in all_phones)
    phones = [row for row in all_phones if uses[row[2]] == 1]
    national = [(kind, rid, n) for kind, rid, p in phones if (n := _national(p))]
    shared = {p: n for p, n in uses.most_common() if n > 1}
    stats = {
        "records_with_shared_phone": sum(shared.values()),
        "shared_phone_numbers": len(shared),
        "most_shared": [[p, n] for p, n in list(shared.items())[:3]],
    }

    def sample(category: str) -> Query:
        expect = CATEGORIES[category][1]
        if category == "full name":
            c = rng.choice(contacts)
            return Query(category, "contact", f"{c.first_name} {c.last_name}", c.id, expect)
        if category == "first-name prefix":
            while len(word := _letters_prefix((c := rng.choice(contacts)).first_name)) < 3:
                pass
            return Query(category, "contact", word[: rng.randint(3, len(word))], c.id, expect)
        if category == "last name":
            c = rng.choice(contacts)
            return Query(category, "contact", c.last_name, c.id, expect)
        if category == "e-mail":
            c = rng.choice(contacts)
            return Query(category, "contact", c.email, c.id, expect)
        if category == "company name":
            c = rng.choice(companies)
            return Query(category, "company", c.name, c.id, expect)
        if category == "company-name prefix":
            while len(word := _letters_prefix((c := rng.choice(companies)).name)) < 3:
                pass
            return Query(category, "company", word[: rng.randint(3, len(word))], c.id, expect)
        if category == "phone, international":
            kind, rid, phone = rng.choice(phones)
            return Query(category, kind, phone, rid, expect)
        if category == "phone, national (trunk 0)":
            kind, rid, phone = rng.choice(national)
            return Query(category, kind, phone, rid, expect)
        # No match: letters no generated name, e-mail or industry is made of, or digits under
        # an unassigned country code; both are checked to really come back empty.
        kind = rng.choice(("contact", "company"))
        if rng.random() < 0.5:
            words = ["".join(rng.choice("qxzjvkw") for _ in range(rng.randint(5, 8)))
                     for _ in range(rng.randint(1, 2))]
            return Query(category, kind, " ".join(words), None, expect)
        digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
        return Query(category, kind, f"+999 {digits[:3]} {digits[3:]}", None, expect)

    mix = [sample(category) for category, (count, _) in CATEGORIES.items() for _ in range(count)]
    # Interleave the categories so no kind of query profits from the one before it.
    rng.shuffle(mix)
    return mix, stats


# -- figure 2: search and get-with-related --------------------------------------------------------


def _search(crm: LocalCrm, q: Query) -> list[Any]:
    if q.kind == "contact":
        return crm.search_contacts(q.text, limit=SEARCH_LIMIT)
    return crm.search_companies(q.text, limit=SEARCH_LIMIT)


def measure_search(crm: LocalCrm, mix: list[Query], *, passes: int) -> dict[str, Any]:
    """Warm up with one untimed pass, then time every query `passes` times."""
    for q in mix:
        _search(crm, q)
    samples: list[int] = []
    by_category: dict[str, list[int]] = defaultdict(list)
    outcome: dict[int, tuple[bool, int]] = {}
    with quiet_gc():
        for _ in range(passes):
            for i, q in enumerate(mix):
                ns, hits = time_call(lambda q=q: _search(crm, q))
                samples.append(ns)
                by_category[q.category].append(ns)
                found = any(h.id == q.record_id for h in hits) if q.record_id is not None else False
                outcome[i] = (found, len(hits))
    categories: dict[str, Any] = {}
    for category, (_, expect) in CATEGORIES.items():
        rows = [outcome[i] for i, q in enumerate(mix) if q.category == category]
        found = sum(1 for f, _ in rows if f)
        some = sum(1 for _, n in rows if n)
        categories[category] = {
            "queries": len(rows),
            "expect": expect,
            # Share of queries whose own record came back (no-match: share that came back empty).
            "hit_rate": (len(rows) - some) / len(rows) if expect is None else found / len(rows),
            "any_result_rate": some / len(rows),
            "mean_results": sum(n for _, n in rows) / len(rows),
            **summarize(by_category[category]),
        }
    expected = [outcome[i][0] for i, q in enumerate(mix) if q.expect]
    misses = [
        {"category": q.category, "query": q.text, "kind": q.kind, "record_id": q.record_id}
        for i, q in enumerate(mix) if q.expect and not outcome[i][0]
    ]
    return {
        "queries": len(mix),
        "passes": passes,
        "latency": summarize(samples),
        "hit_rate": sum(expected) / len(expected),
        "hit_rate_queries": len(expected),
        "no_match_empty_rate": categories["no match"]["hit_rate"],
        "categories": categories,
        "misses": misses[:20],
    }


def measure_gets(crm: LocalCrm, counts: dict[str, int], *, seed: int, calls: int) -> dict[str, Any]:
    """Time get_contact, get_company and get_deal on random existing ids."""
    rng = random.Random(seed)
    result: dict[str, Any] = {}
    for name, fn, total in (
        ("get_contact", crm.get_contact, counts["contacts"]),
        ("get_company", crm.get_company, counts["companies"]),
        ("get_deal", crm.get_deal, counts["deals"]),
    ):
        ids = [rng.randint(1, total) for _ in range(calls)]
        for rid in ids[:30]:  # warm-up
            fn(rid)
        samples = []
        with quiet_gc():
            for rid in ids:
                ns, detail = time_call(lambda rid=rid: fn(rid))
                if detail is None:
                    raise RuntimeError(f"{name}({rid}) found nothing; the ids come from the seeded counts")
                samples.append(ns)
        result[name] = summarize(samples)
    return result


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per CRM table, to check both databases hold the same data."""
    with engine.connect() as conn:
        return {
            kind: int(conn.execute(text(f"SELECT COUNT(*) FROM crm_{table}")).scalar_one())
            for kind, table in (("companies", "company"), ("contacts", "contact"), ("deals", "deal"),
                                ("activities", "activity"), ("tickets", "ticket"))
        }


def run(workdir: Path, pg_url: str, *, scale: int, seed: int, today: date, mix_seed: int,
        passes: int, get_calls: int) -> dict[str, Any]:
    """Figure 1 on SQLite through the CLI, then figure 2 on that database and on PostgreSQL."""
    out: dict[str, Any] = {}
    seeded = seed_with_cli(workdir, scale=scale, seed=seed, today=today)
    out["seed_cli"] = {k: v for k, v in seeded.items() if k != "url"}
    log(f"  seed-demo --scale {scale} (CLI, SQLite): {seeded['wall_s']:.1f} s; {seeded['output']}")

    engines: dict[str, Engine] = {SQLITE: make_engine(seeded["url"])}
    try:
        # The SQLite database is the one the CLI just seeded; PostgreSQL gets the same seed and
        # date in-process, hence the same rows and ids, so one query mix serves both.
        engines[POSTGRES] = pg = make_engine(pg_url)
        schema.upgrade(pg)
        ns, _ = time_call(lambda: demo.seed(pg, scale=scale, seed=seed, today=today))
        out["seed_postgres_in_process_s"] = ns / 1e9
        log(f"  seeded PostgreSQL in-process in {ns / 1e9:.1f} s")
        for name, engine in engines.items():
            if table_counts(engine) != seeded["counts"]:
                raise RuntimeError(f"{name} holds {table_counts(engine)}, expected {seeded['counts']}")

        mix, out["data_stats"] = build_query_mix(engines[SQLITE], seed=mix_seed)
        out["backends"] = {}
        for name, engine in engines.items():
            crm = LocalCrm(engine)
            search = measure_search(crm, mix, passes=passes)
            gets = measure_gets(crm, seeded["counts"], seed=mix_seed, calls=get_calls)
            out["backends"][name] = {"search": search, "get": gets}
            lat = search["latency"]
            log(f"  {name}: search p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms, "
                f"hit rate {search['hit_rate']:.1%}; " + ", ".join(
                    f"{fn} p50 {s['p50_ms']:.2f} ms" for fn, s in gets.items()))
    finally:
        for engine in engines.values():
            engine.dispose()
    return out
