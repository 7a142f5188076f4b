"""The `privacy` suite: the cost of masking personal data with a large CRM loaded.

1. Building the known-entities index (Aho-Corasick) for 100,000 demo contacts and their
   companies: wall time (median of 3 builds, target 2 s) and memory.
2. Masking with that index loaded: ~200-character chat messages (p50 target 2 ms) and ~5 KB
   record dumps (p50 target 60 ms), through the gateway as the bot calls it.
3. Presidio's stock deny-list recognizer (`PatternRecognizer(deny_list=names)`) against the
   index on the same names and messages.
4. Detection quality: the summary of `python -m bench.pii_eval`.

The contacts come from the demo CRM generator at scale 100 (deterministic: fixed seed and date).
The memory of an index build is measured in a child process that holds nothing but the
directory entries, so the interpreter's other allocations do not hide it.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    at_most,
    cell,
    load_average,
    log,
    machine_info,
    proc_status_mb,
    quiet_gc,
    reset_peak_rss,
    summarize,
    time_call,
)

SCALE = 100  # the demo generator makes about 1,000 contacts per unit of scale
DEMO_SEED = 7
TODAY = date(2026, 11, 2)
MESSAGE_SEED = 20261121
BUILDS = 3
CHAT_MESSAGES = 800
WARMUP_MESSAGES = 20
DUMPS = 80
DUMP_CHARS = 5000
STOCK_MESSAGES = 150  # Presidio's deny-list regex takes tens of ms per message at 100k names
STOCK_SIZES = (10_000, 20_000)  # measured first; the full list only if its build looks affordable
STOCK_BUILD_LIMIT_S = 60.0

BUILD_LIMIT_S, CHAT_P50_LIMIT_MS, DUMP_P50_LIMIT_MS = 2.0, 2.0, 60.0

OURS, STOCK, RATIO, RESULT = "KnownEntityIndex (ours)", "Presidio deny-list", "Stock / ours", "Result"


def run() -> dict[str, Any]:
    started = time.perf_counter()
    # This suite uses no database.
    machine = machine_info(databases=False, libraries=("presidio-analyzer", "pyahocorasick", "regex", "faker"))
    log(f"privacy: {machine['cores']} cores, Python {machine['python']}, load {machine['load_avg_1m_at_start']}")
    # Before presidio_analyzer is imported anywhere: no public-suffix download (see detector.py).
    from bot.privacy import detector as _  # noqa: F401

    log(f"[data] demo CRM at scale {SCALE}")
    crm = _demo_crm()
    log(f"       {len(crm['contacts']):,} contacts, {len(crm['companies']):,} companies "
        f"in {crm['generate_s']:.1f} s")
    log("[1] known-entities index: build time and memory")
    build = _index_build(crm)
    log(f"    median {build['median_s']:.2f} s over {BUILDS} builds, {build['values']:,} values")
    log("[2] masking with the index loaded")
    masking = _masking(crm, build.pop("_index"))
    log(f"    chat p50 {masking['chat']['mask_text']['p50_ms']:.2f} ms, "
        f"dump p50 {masking['dump']['mask_value']['p50_ms']:.1f} ms")
    log("[3] Presidio deny-list recognizer vs the index")
    stock = _stock_comparison(crm, masking.pop("_messages"))
    log("[4] detection quality (bench.pii_eval)")
    quality = _quality()
    machine["load_avg_1m_at_end"] = load_average()
    data = {"crm": {k: v for k, v in crm.items() if not k.startswith("_") and k not in ("contacts", "companies")},
            "index": build, "masking": masking, "stock": stock, "quality": quality}
    return {
        "suite": "privacy",
        "title": "Privacy: known-entity index, masking speed, detection quality",
        "machine": machine,
        "duration_s": time.perf_counter() - started,
        "sections": [_build_section(data), _masking_section(data), _stock_section(data), _quality_section(data)],
        "data": data,
    }


def _settings() -> Any:
    """The privacy settings as shipped in app.toml, without environment overrides."""
    from bot.config import load_settings

    return load_settings(Path(REPO) / "app.toml", env={}).privacy


# -- data -----------------------------------------------------------------------------------------


def _demo_crm() -> dict[str, Any]:
    """Contacts, companies and record material of the demo CRM; the rest is dropped at once."""
    from adapters.crm.demo.generate import generate

    start = time.perf_counter()
    demo = generate(scale=SCALE, seed=DEMO_SEED, today=TODAY)
    generate_s = time.perf_counter() - start
    companies = [{k: c[k] for k in ("id", "name", "domain", "industry", "employees", "country", "phone", "owner")}
                 for c in demo.companies]
    contacts = [{k: c[k] for k in ("id", "company_id", "first_name", "last_name", "email", "phone", "title",
                                   "aliases")} for c in demo.contacts]
    # Record material for the ~5 KB dumps, for the first companies only.
    wanted = {c["id"] for c in companies[:DUMPS]}
    material: dict[int, dict[str, list[dict[str, Any]]]] = {cid: defaultdict(list) for cid in wanted}
    for kind, rows in (("deals", demo.deals), ("activities", demo.activities), ("tickets", demo.tickets)):
        for row in rows:
            if row["company_id"] in wanted:
                material[row["company_id"]][kind].append(_plain(row))
    del demo
    gc.collect()
    return {"generate_s": generate_s, "scale": SCALE, "seed": DEMO_SEED, "today": TODAY.isoformat(),
            "contacts": contacts, "companies": companies, "_material": material}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready copy (dates and Decimals as text), without the generator's private keys."""
    return json.loads(json.dumps({k: v for k, v in row.items() if not k.startswith("_")}, default=str))


# -- 1. index build -------------------------------------------------------------------------------


def _index_build(crm: dict[str, Any]) -> dict[str, Any]:
    from bench.pii_eval import directory
    from bot.privacy.known import KnownEntityIndex, entities_from_directory

    entries = directory(crm["contacts"], crm["companies"])
    counts = {
        "contacts": sum(e.kind == "contact" for e in entries),
        "companies": sum(e.kind == "company" for e in entries),
        "contact_names": sum(1 for e in entries if e.kind == "contact" and e.names),
        "contact_aliases": sum(len(e.names) - 1 for e in entries if e.kind == "contact"),
        "emails": sum(len(e.emails) for e in entries),
        "phones": sum(len(e.phones) for e in entries),
    }
    counts["entities"] = sum(1 for _ in entities_from_directory(entries, company_names=True))

    def build() -> Any:
        return KnownEntityIndex(entities_from_directory(entries, company_names=True))

    times, index = [], None
    for _ in range(BUILDS):
        index = None  # the previous index is freed before the next build, as on a refresh
        gc.collect()
        start = time.perf_counter_ns()
        index = build()
        times.append(time.perf_counter_ns() - start)
    seconds = [t / 1e9 for t in times]

    # Python-level allocations of one more build (tracemalloc slows it, so it is not timed).
    held = index
    index = None
    gc.collect()
    tracemalloc.start()
    traced = build()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del traced
    gc.collect()

    return {
        "builds_s": seconds, "median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds),
        "values": len(held), "counts": counts,
        "tracemalloc": {"peak_mb": peak / 2**20, "retained_mb": current / 2**20},
        "process": _memory_probe(entries),
        "_index": held,
    }


def _memory_probe(entries: list[Any]) -> dict[str, Any]:
    """RSS of a child process that loads the directory entries and builds one index."""
    rows = [[e.kind, e.id, list(e.names), list(e.emails), list(e.phones)] for e in entries]
    with tempfile.TemporaryDirectory(prefix="bench_privacy_") as tmp:
        path = Path(tmp) / "directory.json"
        path.write_text(json.dumps(rows), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "bench.privacy", "--memory-probe", str(path)],
                              cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_probe(path: str) -> dict[str, Any]:
    """Child side of _memory_probe: figures in MB, printed as one JSON line."""
    from adapters.crm.base import DirectoryEntry
    from bot.privacy.known import KnownEntityIndex, entities_from_directory

    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    entries = [DirectoryEntry(kind, id_, tuple(n), tuple(e), tuple(p)) for kind, id_, n, e, p in rows]
    del rows
    gc.collect()
    before = proc_status_mb()
    try:
        reset_peak_rss()
        reset = proc_status_mb()["VmHWM"] <= before["VmRSS"] + 1
    except OSError:
        reset = False
    index = KnownEntityIndex(entities_from_directory(entries, company_names=True))
    after = proc_status_mb()
    return {
        "values": len(index),
        "rss_before_build_mb": before["VmRSS"],
        "rss_after_build_mb": after["VmRSS"],
        "retained_mb": after["VmRSS"] - before["VmRSS"],
        "peak_rss_mb": after["VmHWM"],
        "peak_reset": reset,
        "peak_over_before_mb": after["VmHWM"] - before["VmRSS"] if reset else None,
    }


# -- 2. masking -----------------------------------------------------------------------------------

CHAT_TEMPLATES = (
    "Hi team, {known} from {company} called about deal #{deal} ({product}, {amount} {currency}). Can someone "
    "send the revised quote to {kemail} before {date}? Stage is {stage}.",
    "Quick one: {uname} ({uemail}) says she replaced {known} as the buyer at {company}. Please update the "
    "contact and log a call; her direct line is {uphone}. Thanks!",
    "Can you summarise the last three activities with {alias}? The renewal ({amount} {currency}, closes "
    "{date}) is at risk and I'm calling {kphone} tomorrow at 10:00.",
    "Customer paid the {amount} {currency} invoice with card {card} instead of a transfer; finance wants "
    "the IBAN {iban} on file for {company}. Ticket {ticket}, owner {known}.",
    "Login alerts from {ip} on the {company} account. {known} ({kemail}) says it wasn't them; open a "
    "ticket, priority high, and ask {uname} in IT security to check before {date}.",
    "Draft a follow-up e-mail to {known} and {known2} after today's demo of {product}: 40 agents, "
    "{amount} {currency} per year, decision expected {date}, next step {stage}.",
    "Who owns {company}? {uname} from their procurement team wrote from {uemail} asking for 12% off "
    "deal {deal}; reach her on {uphone} or via {kphone_alt}.",
    "Move deal {deal} to {stage} and set the close date to {date}. {known} confirmed the budget "
    "({amount} {currency}) on a call with {uname}; nobody else needs to sign.",
    "Remind me on {date} to call {known} back on {kphone_alt} about ticket {ticket}; their IT contact "
    "{uname} ({uemail}) needs the SSO set-up guide for {product}.",
    "What's the pipeline for {product} this quarter? List deals over {amount} {currency} in stage "
    "{stage} closing before {date}, with owners and next steps, sorted by amount.",
)
UNKNOWN_LOCALES = ("en_US", "en_GB", "fr_FR", "it_IT", "pl_PL", "es_ES", "nl_NL", "sv_SE")
PRODUCTS = ("Brightdesk Starter", "Brightdesk Pro", "Brightdesk Enterprise", "Insights", "Automations")
STAGES = ("lead", "qualified", "proposal", "negotiation", "closed won")
DATES = ("2026-12-01", "30 November 2026", "1/15/2027", "Friday", "end of Q1")
# Kinds of value a message may carry, and whether it is personal data the mask must hide.
PERSONAL = {"known", "known2", "alias", "kemail", "kphone", "kphone_alt", "company",
            "uname", "uemail", "uphone", "card", "iban", "ip"}


def chat_messages(crm: dict[str, Any], count: int, seed: int) -> list[tuple[str, list[str]]]:
    """~200-character requests, each with the personal values it contains."""
    from faker import Faker

    rng = random.Random(seed)
    fakers = []
    for i, locale in enumerate(UNKNOWN_LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        fakers.append(fake)
    companies = {c["id"]: c for c in crm["companies"]}
    with_alias = [c for c in crm["contacts"] if c["aliases"]]
    out = []
    for n in range(count):
        template = CHAT_TEMPLATES[n % len(CHAT_TEMPLATES)]
        a, b = rng.sample(crm["contacts"], 2)
        if "{alias}" in template and rng.random() < 0.5:
            a = rng.choice(with_alias)
        fake = rng.choice(fakers)
        values = {
            "known": f"{a['first_name']} {a['last_name']}", "known2": f"{b['first_name']} {b['last_name']}",
            "alias": a["aliases"][0] if a["aliases"] else f"{a['first_name']} {a['last_name']}",
            "kemail": a["email"], "kphone": a["phone"],
            "kphone_alt": "+" + "".join(ch for ch in a["phone"] if ch.isdigit()),  # not as stored
            "company": companies[a["company_id"]]["name"],
            "uname": fake.name(), "uemail": fake.free_email(), "uphone": fake.phone_number(),
            "card": fake.credit_card_number(), "iban": fake.iban(), "ip": fake.ipv4_public(),
            "deal": str(rng.randint(1, 60_000)), "ticket": str(rng.randint(1000, 99_999)),
            "amount": f"{rng.randint(2, 400) * 500:,}", "currency": rng.choice(("USD", "EUR", "GBP")),
            "product": rng.choice(PRODUCTS), "stage": rng.choice(STAGES), "date": rng.choice(DATES),
        }
        used = [key for key in values if "{" + key + "}" in template]
        out.append((template.format(**values), [values[k] for k in used if k in PERSONAL]))
    return out


def record_dumps(crm: dict[str, Any]) -> list[dict[str, Any]]:
    """Company records with contacts, deals, activities and tickets, about DUMP_CHARS of JSON each."""
    contacts_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c in crm["contacts"]:
        contacts_of[c["company_id"]].append(c)
    names = {c["id"]: f"{c['first_name']} {c['last_name']}" for c in crm["contacts"]}
    dumps = []
    for company in crm["companies"][:DUMPS]:
        material = crm["_material"][company["id"]]
        record: dict[str, Any] = {
            "company": dict(company),
            "contacts": [{"id": c["id"], "full_name": f"{c['first_name']} {c['last_name']}", "email": c["email"],
                          "phone": c["phone"], "title": c["title"]} for c in contacts_of[company["id"]]],
            "deals": [], "recent_activities": [], "tickets": [],
        }
        extra = [("deals", {k: d[k] for k in ("id", "name", "stage", "amount", "currency", "close_date", "owner")})
                 for d in material["deals"]]
        extra += [("tickets", {k: t[k] for k in ("id", "subject", "body", "priority", "status")}
                   | {"contact": names.get(t["contact_id"])}) for t in material["tickets"]]
        extra += [("recent_activities", {k: a[k] for k in ("id", "kind", "subject", "body", "occurred_at")}
                   | {"contact": names.get(a["contact_id"])}) for a in material["activities"]]
        for key, item in extra:
            if len(json.dumps(record, ensure_ascii=False)) >= DUMP_CHARS:
                break
            record[key].append(item)
        dumps.append(record)
    return dumps


def _time_each(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[int]:
    """Nanoseconds of fn(item) for each item."""
    with quiet_gc():
        return [time_call(fn, item)[0] for item in items]


def _masking(crm: dict[str, Any], index: Any) -> dict[str, Any]:
    from bot.privacy.detector import Detector
    from bot.privacy.gateway import Gateway
    from bot.privacy.names import NameDetector
    from bot.privacy.spans import PLACEHOLDER, TYPE_PRIORITY
    from bot.privacy.vault import MemoryVaultStore, Vault

    settings = _settings()
    start = time.perf_counter()
    detector = Detector(settings, lambda: index)
    detector.warm()
    startup_s = time.perf_counter() - start
    gateway = Gateway(detector)

    messages = chat_messages(crm, CHAT_MESSAGES + WARMUP_MESSAGES, MESSAGE_SEED)
    warmup, messages = messages[:WARMUP_MESSAGES], messages[WARMUP_MESSAGES:]
    texts = [text for text, _ in messages]
    for text, _ in warmup:
        gateway.mask_text(Vault("warm-up", MemoryVaultStore()), text)

    # A fresh vault per message, made before the clock starts: each message is a new conversation.
    vaults = [Vault(f"bench-{i}", MemoryVaultStore()) for i in range(len(texts))]
    outputs: list[str] = []
    chat = _time_each(lambda i: outputs.append(gateway.mask_text(vaults[i], texts[i]).text), range(len(texts)))
    leaked = [(v, text) for (text, values), out in zip(messages, outputs, strict=True) for v in values if v in out]
    inserted = sum(len(values) for _, values in messages)

    # Where the time of one message goes: each detector on its own, on the same messages.
    patterns_only = Detector(settings.model_copy(update={"known_entities": False, "name_lexicon": False}))
    patterns_only.warm()
    lexicon = NameDetector()
    parts = {
        "detect (all detectors, overlap resolution)": summarize(_time_each(detector.detect, texts)),
        "Presidio pattern recognizers": summarize(_time_each(patterns_only.detect, texts)),
        "known-entity index find": summarize(_time_each(index.find, texts)),
        "name detector (lexicon, positions, scripts)": summarize(_time_each(lexicon.find, texts)),
    }

    dumps = record_dumps(crm)
    dump_texts = [json.dumps(d, ensure_ascii=False) for d in dumps]
    for d in dumps[:3]:
        gateway.mask_value(Vault("warm-up", MemoryVaultStore()), d)
    value_vaults = [Vault(f"dump-{i}", MemoryVaultStore()) for i in range(len(dumps))]
    text_vaults = [Vault(f"dump-text-{i}", MemoryVaultStore()) for i in range(len(dumps))]
    masked_dumps: list[Any] = []
    by_value = _time_each(lambda i: masked_dumps.append(gateway.mask_value(value_vaults[i], dumps[i])),
                          range(len(dumps)))
    by_text = _time_each(lambda i: gateway.mask_text(text_vaults[i], dump_texts[i]), range(len(dumps)))
    placeholders = [len({m.group(0) for m in PLACEHOLDER.finditer(json.dumps(d, ensure_ascii=False))
                         if m.group(1) in TYPE_PRIORITY}) for d in masked_dumps]

    lengths = [len(t) for t in texts]
    dump_lengths = [len(t) for t in dump_texts]
    return {
        "settings": {"entities": list(settings.entities), "national_ids": list(settings.national_ids),
                     "phone_regions": list(settings.phone_regions), "name_lexicon": settings.name_lexicon,
                     "known_entities": settings.known_entities, "company_names": settings.company_names,
                     "spacy_model": settings.spacy_model, "allow_list": list(settings.allow_list)},
        "detector_startup_s": startup_s,
        "chat": {
            "messages": len(texts), "chars_mean": statistics.mean(lengths), "chars_min": min(lengths),
            "chars_max": max(lengths), "mask_text": summarize(chat), "parts": parts,
            "personal_values_inserted": inserted, "personal_values_left_unmasked": len(leaked),
            "left_unmasked_examples": [v for v, _ in leaked[:10]],
            "example": {"text": texts[0], "masked": outputs[0]},
        },
        "dump": {
            "records": len(dumps), "chars_mean": statistics.mean(dump_lengths), "chars_min": min(dump_lengths),
            "chars_max": max(dump_lengths), "mask_value": summarize(by_value), "mask_text_json": summarize(by_text),
            "placeholders_mean": statistics.mean(placeholders),
        },
        "_messages": texts,
    }


# -- 3. Presidio's deny-list recognizer -------------------------------------------------------------


def _stock_comparison(crm: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    from presidio_analyzer import PatternRecognizer

    from bot.privacy.known import KnownEntity, KnownEntityIndex

    names = list(dict.fromkeys(f"{c['first_name']} {c['last_name']}" for c in crm["contacts"]))
    sample = texts[:STOCK_MESSAGES]
    runs = []
    sizes = [*STOCK_SIZES, len(names)]
    for size in sizes:
        subset = names[:size]
        if size == len(names) and runs:
            # Both the construction and the first call compile the regex; both grow with the list.
            per_name = max(r["stock"]["build_s"] / r["names"] for r in runs)
            if per_name * size > STOCK_BUILD_LIMIT_S:
                log(f"    skipping {size:,} names: estimated build {per_name * size:.0f} s")
                break
        gc.collect()
        start = time.perf_counter_ns()
        recognizer = PatternRecognizer(supported_entity="PERSON", deny_list=subset)
        constructed = time.perf_counter_ns()
        recognizer.analyze("warm-up", ["PERSON"], None)  # compiles the pattern with its flags
        built = time.perf_counter_ns()
        stock_times = _time_each(lambda t: recognizer.analyze(t, ["PERSON"], None), sample)
        stock_hits = sum(len(recognizer.analyze(t, ["PERSON"], None)) for t in sample[:50])
        del recognizer
        gc.collect()
        ours_builds = []
        for _ in range(BUILDS):
            start_ours = time.perf_counter_ns()
            index = KnownEntityIndex(KnownEntity("PERSON", n, f"contact:{i}") for i, n in enumerate(subset))
            ours_builds.append(time.perf_counter_ns() - start_ours)
        ours_times = _time_each(index.find, sample)
        ours_hits = sum(len(index.find(t)) for t in sample[:50])
        stock = {"constructor_s": (constructed - start) / 1e9, "first_call_s": (built - constructed) / 1e9,
                 "build_s": (built - start) / 1e9, "analyze": summarize(stock_times), "hits_first_50": stock_hits}
        ours = {"build_s": statistics.median(ours_builds) / 1e9, "builds_s": [b / 1e9 for b in ours_builds],
                "find": summarize(ours_times), "hits_first_50": ours_hits}
        runs.append({"names": size, "stock": stock, "ours": ours,
                     "build_ratio": stock["build_s"] / ours["build_s"],
                     "p50_ratio": stock["analyze"]["p50_ms"] / ours["find"]["p50_ms"]})
        log(f"    {size:,} names: build {stock['build_s']:.2f} s vs {ours['build_s']:.3f} s, "
            f"p50 {stock['analyze']['p50_ms']:.2f} ms vs {ours['find']['p50_ms']:.3f} ms")
    return {"unique_names": len(names), "messages": len(sample),
            "chars_mean": statistics.mean(len(t) for t in sample), "runs": runs}


# -- 4. detection quality ---------------------------------------------------------------------------


def _quality() -> dict[str, Any]:
    from bench import pii_eval

    dataset: Path | None = pii_eval.DEFAULT_DATASET
    if not dataset.is_file():
        log(f"    {dataset.name} not found: CRM messages only")
        dataset = None
    full = pii_eval.run(dataset)
    keep = ("recall", "precision", "overall_precision", "groups", "total", "items", "kept", "damaged_examples")
    return {name: {k: part[k] for k in keep if k in part} for name, part in full.items() if isinstance(part, dict)}


# -- tables for docs/benchmarks.md (shape: bench.report) ------------------------------------------


def _one(measure: str, target: str | None, c: dict[str, Any] | None) -> dict[str, Any]:
    return {"measure": measure, "target": target, "cells": {RESULT: c}}


def _build_section(data: dict[str, Any]) -> dict[str, Any]:
    b, crm = data["index"], data["crm"]
    n, proc, tm = b["counts"], b["process"], b["tracemalloc"]
    rows = [
        _one(f"build, median of {BUILDS}", f"≤ {BUILD_LIMIT_S:g} s", at_most(b["median_s"], "s", BUILD_LIMIT_S)),
        _one("build, fastest / slowest", None,
             {"text": f"{b['min_s']:.2f} / {b['max_s']:.2f} s", "value": b["max_s"], "unit": "s", "pass": None}),
        _one("values in the index (after de-duplication)", None, cell(b["values"], "", None, 0)),
        _one("Python allocations during a build, peak (tracemalloc)", None, cell(tm["peak_mb"], "MB", None, 0)),
        _one("Python allocations held by the built index (tracemalloc)", None, cell(tm["retained_mb"], "MB", None, 0)),
        _one("child process: RSS held by the index", None, cell(proc["retained_mb"], "MB", None, 0)),
    ]
    if proc["peak_over_before_mb"] is not None:
        rows.append(_one("child process: peak RSS during the build, over its RSS before", None,
                         cell(proc["peak_over_before_mb"], "MB", None, 0)))
    rows.append(_one("child process: peak RSS during the build (`VmHWM`), interpreter and entries included",
                     None, cell(proc["peak_rss_mb"], "MB", None, 0)))
    return {
        "title": f"1. Known-entities index for {n['contacts']:,} contacts",
        "description": (
            f"The demo CRM generator at scale {crm['scale']} (seed {crm['seed']}, {crm['generate_s']:.0f} s to "
            f"generate) gives {n['contacts']:,} contacts and {n['companies']:,} companies. As the local CRM "
            f"adapter's `directory()` yields them: {n['contact_names']:,} full names, {n['contact_aliases']:,} "
            f"aliases (the generator gives a nickname alias only where the first name has one), {n['emails']:,} "
            f"e-mails, {n['phones']:,} phones and the company names: {n['entities']:,} entities in all. Timed: "
            "`KnownEntityIndex(entities_from_directory(entries, company_names=True))` with "
            "`time.perf_counter_ns`, after a garbage collection, the previous index freed first."
        ),
        "columns": [RESULT],
        "rows": rows,
        "tables": [],
        "notes": [
            "Memory is measured twice. tracemalloc, on a separate untimed build, counts the Python-level "
            "allocations: the key strings, the de-duplication dict and the automaton itself (pyahocorasick "
            "allocates its nodes through Python's allocator, so they are traced). The child process "
            "(`python -m bench.privacy --memory-probe FILE`) loads only the directory entries, resets its peak RSS through "
            "`/proc/self/clear_refs`, builds one index and reads `VmRSS` / `VmHWM` from `/proc/self/status` "
            f"(RSS before the build {proc['rss_before_build_mb']:.0f} MB, after {proc['rss_after_build_mb']:.0f} MB). "
            "`getrusage().ru_maxrss` is not used: Linux carries it over from the parent through fork and exec, "
            "and the parent has just generated the whole demo CRM."
            + ("" if proc["peak_reset"] else " The peak could not be reset here, so it includes loading the entries."),
        ],
    }


def _masking_section(data: dict[str, Any]) -> dict[str, Any]:
    m = data["masking"]
    chat, dump = m["chat"], m["dump"]
    c, v, t = chat["mask_text"], dump["mask_value"], dump["mask_text_json"]
    rows = [
        _one(f"chat message (~{chat['chars_mean']:.0f} chars), `mask_text` p50", f"≤ {CHAT_P50_LIMIT_MS:g} ms",
             at_most(c["p50_ms"], "ms", CHAT_P50_LIMIT_MS)),
        _one("chat message, p95", None, cell(c["p95_ms"], "ms")),
        _one("chat message, p99", None, cell(c["p99_ms"], "ms")),
        _one("chat message, max", None, cell(c["max_ms"], "ms")),
        _one(f"record dump (~{dump['chars_mean'] / 1000:.1f} KB JSON), `mask_value` on the dict, p50",
             f"≤ {DUMP_P50_LIMIT_MS:g} ms", at_most(v["p50_ms"], "ms", DUMP_P50_LIMIT_MS)),
        _one("record dump, `mask_value`, p99", None, cell(v["p99_ms"], "ms")),
        _one("record dump, `mask_text` on its JSON text, p50", None, cell(t["p50_ms"], "ms")),
        _one("record dump, `mask_text` on its JSON text, p99", None, cell(t["p99_ms"], "ms")),
        _one("detector start-up (construct + `warm()`, index already built)", None,
             cell(m["detector_startup_s"], "s")),
    ]
    parts = [[name, f"{s['p50_ms']:.3f}", f"{s['p99_ms']:.3f}", f"{s['mean_ms']:.3f}"]
             for name, s in chat["parts"].items()]
    leaked = chat["personal_values_left_unmasked"]
    return {
        "title": "2. Masking with the 100k-contact index loaded",
        "description": (
            f"`Gateway.mask_text` over {chat['messages']} generated requests of {chat['chars_min']}–"
            f"{chat['chars_max']} characters (10 templates: known contacts by name, alias, e-mail, phone as "
            "stored and re-formatted, company names; unknown names, e-mails and phones from Faker in 8 locales; "
            "cards, IBANs, IP addresses; amounts, dates, deal ids, stages and product names that must stay), "
            f"after {WARMUP_MESSAGES} warm-up messages. Each message gets a fresh in-memory `Vault` made before "
            "the clock starts, so the time covers detection, overlap resolution, placeholder assignment and "
            f"the rewrite; a database-backed vault adds its write. {dump['records']} record dumps "
            f"({dump['chars_min']:,}–{dump['chars_max']:,} characters of JSON: a company with its contacts, "
            "deals, activities with notes and tickets) are masked with `Gateway.mask_value` on the dict, as the "
            "agent does with tool results, each with a fresh vault, and separately with `mask_text` on the "
            "JSON text. Settings: `[privacy]` of app.toml (Presidio e-mail, phone, card, IBAN and IP "
            "recognizers, phone regions US and GB, the name detector, known entities with company "
            "names, no spaCy model)."
        ),
        "columns": [RESULT],
        "rows": rows,
        "tables": [{"caption": "Where the time of one chat message goes (each detector alone, same messages; ms)",
                    "columns": ["Part", "p50", "p99", "mean"], "rows": parts}],
        "notes": [
            f"Check on the output: of the {chat['personal_values_inserted']:,} personal values inserted into "
            f"the chat messages, {leaked} still appeared verbatim in the masked text"
            + (f" (for example: {', '.join(repr(x) for x in chat['left_unmasked_examples'][:5])})." if leaked
               else ".")
            + f" A record dump received {dump['placeholders_mean']:.0f} placeholders on average.",
        ],
    }


def _stock_section(data: dict[str, Any]) -> dict[str, Any]:
    s = data["stock"]
    runs = s["runs"]
    largest = runs[-1]
    columns = [STOCK, OURS, RATIO]

    def row(measure: str, stock: dict[str, Any], ours: dict[str, Any], ratio: float) -> dict[str, Any]:
        return {"measure": measure, "target": None,
                "cells": {STOCK: stock, OURS: ours, RATIO: cell(ratio, "×", None, 0 if ratio >= 100 else 1)}}

    rows = []
    for r in runs:
        st, ou = r["stock"], r["ours"]
        rows.append(row(f"{r['names']:,} names: build", cell(st["build_s"], "s"), cell(ou["build_s"], "s", None, 3),
                        r["build_ratio"]))
        rows.append(row(f"{r['names']:,} names: one message, p50", cell(st["analyze"]["p50_ms"], "ms", None, 3),
                        cell(ou["find"]["p50_ms"], "ms", None, 3), r["p50_ratio"]))
        rows.append(row(f"{r['names']:,} names: one message, p99", cell(st["analyze"]["p99_ms"], "ms", None, 3),
                        cell(ou["find"]["p99_ms"], "ms", None, 3),
                        st["analyze"]["p99_ms"] / ou["find"]["p99_ms"]))
    full = largest["names"] == s["unique_names"]
    notes = [
        "Build of the stock recognizer = `PatternRecognizer(supported_entity=\"PERSON\", deny_list=names)` plus "
        "its first `analyze` call: the constructor compiles the alternation once to validate it and the "
        "first call compiles it again with the recognizer's flags (IGNORECASE, MULTILINE, DOTALL); at "
        f"{largest['names']:,} names these took {largest['stock']['constructor_s']:.1f} s and "
        f"{largest['stock']['first_call_s']:.1f} s. Ours = `KnownEntityIndex` over the same names as PERSON "
        f"entities, median of {BUILDS} builds; message time is `index.find(text)` alone.",
        f"On the first 50 messages the deny-list returned {largest['stock']['hits_first_50']} matches and the "
        f"index {largest['ours']['hits_first_50']}: the index finds every full name the deny-list finds, and "
        "also each contact's first name or surname written alone (capitalised, not a common word).",
    ]
    if not full:
        notes.append(f"The full list of {s['unique_names']:,} names was not measured (its build was estimated "
                     f"above {STOCK_BUILD_LIMIT_S:.0f} s); the largest measured size is {largest['names']:,}.")
    return {
        "title": "3. Presidio's deny-list recognizer against the Aho-Corasick index",
        "description": (
            f"The {s['unique_names']:,} distinct full names of the demo contacts (the first 10,000 and 20,000 "
            f"of them too, to show how each grows), matched on the first {s['messages']} chat messages of "
            f"section 2 (~{s['chars_mean']:.0f} characters). Same process, same run."
        ),
        "columns": columns,
        "rows": rows,
        "tables": [],
        "notes": notes,
    }


QUALITY_PARTS = (
    ("shared_dataset", "Shared dataset"),
    ("crm_messages_with_crm_index", "CRM messages, with index"),
    ("crm_messages_without_crm_index", "CRM messages, no index"),
)


def _quality_section(data: dict[str, Any]) -> dict[str, Any]:
    q = data["quality"]
    parts = [(key, label) for key, label in QUALITY_PARTS if key in q]
    columns = [label for _, label in parts]
    rows = [{"measure": "overall precision", "target": None,
             "cells": {label: cell(q[key]["overall_precision"], "", None, 3) for key, label in parts}}]
    types = sorted({t for key, _ in parts for t in (*q[key]["recall"], *q[key]["precision"])})
    table = []
    for t in types:
        line = [t]
        for key, _ in parts:
            r, p = q[key]["recall"].get(t), q[key]["precision"].get(t)
            line.append(f"{r['recall']:.3f} ({r['found']}/{r['spans']})" if r else "—")
            line.append(f"{p['precision']:.3f} ({p['correct']}/{p['detections']})" if p else "—")
        table.append(line)
    notes = []
    extra = _beyond_rows(q)
    lex = q.get("names_lexicon_only_on_shared_dataset")
    if lex:
        r, p = lex["recall"].get("PERSON"), lex["precision"].get("PERSON")
        if r and p:
            notes.append(f"Person names by the name detector alone (lexicon, positions, scripts; no other recognizer) on the shared dataset: recall "
                         f"{r['recall']:.3f} ({r['found']}/{r['spans']}), precision {p['precision']:.3f}.")
    notes.append("A gold span counts as found when any detection overlaps it; a detection is correct when it "
                  "overlaps any gold span. Types the detector does not look for (addresses, dates, ages, titles, "
                  "nationalities) are listed with their recall so the gaps stay visible.")
    return {
        "title": "4. Detection quality (`python -m bench.pii_eval`)",
        "description": (
            "Recall and precision per entity type, from `bench.pii_eval.run()` in the same run: the labelled "
            "synthetic dataset (Presidio research's `synth_dataset_v2.json`, a development set) scored without "
            "the CRM index, 1,000 messages generated from the scale-1 demo CRM (Faker-made names) with and "
            "without it, and the sets of bench/pii_sets.py. See docs/privacy.md."
        ),
        "columns": columns,
        "rows": rows,
        "tables": [{"caption": "Per type: recall (found/gold spans) and precision (correct/detections)",
                    "columns": ["Type", *(f"{label} {what}" for label in columns for what in ("recall", "precision"))],
                    "rows": table},
                   {"caption": "Beyond the dataset (bench/pii_sets.py): recall per script, written form and type; "
                               "must-keep values left intact",
                    "columns": ["Set", "Group", "Target", "Result"], "rows": extra}],
        "notes": notes,
    }


BEYOND_PARTS = (
    ("independent_names", "Names from mimesis (independent of the detector's lists), no CRM index", "≥ 0.90"),
    ("known_forms", "Demo CRM contacts in every written form, with index", "≥ 0.995"),
    ("hostile_formats_with_crm_index", "E-mails, phones, cards, IBANs, IPs in hostile formats", "≥ 0.99"),
)


def _beyond_rows(q: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, label, target in BEYOND_PARTS:
        part = q.get(key)
        if not part or "groups" not in part:
            continue
        for group, r in part["groups"].items():
            rows.append([label, group, target, f"{r['recall']:.3f} ({r['found']}/{r['spans']})"])
        t = part["total"]
        rows.append([label, "all", target, f"{t['recall']:.3f} ({t['found']}/{t['spans']})"])
        p = part["precision"]
        rows.append([label, "precision (detections overlapping a gold span)", "—",
                     f"{p['precision']:.3f} ({p['correct']}/{p['detections']})"])
    keep = q.get("must_keep")
    if keep and "kept" in keep:
        rows.append(["Dates, weekdays, products, stages, amounts, ids, times (contacts named Mark, May, June, "
                     "Jan... in the index)", "left intact", "≥ 0.99",
                     f"{keep['kept'] / max(1, keep['items']):.3f} ({keep['kept']}/{keep['items']})"])
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-probe":
        print(json.dumps(memory_probe(sys.argv[2])))
    else:
        sys.exit("usage: python -m bench privacy   (this module alone only runs --memory-probe FILE)")
