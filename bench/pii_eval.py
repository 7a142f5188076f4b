"""Precision and recall of the personal-data detector, per entity type.

Corpora: the labelled synthetic dataset shared with the project (Presidio research's
synth_dataset_v2.json, a development set); messages generated from the demo CRM (Faker-made
names), where every inserted name, e-mail and phone is known and amounts, dates, ids and product
names must stay unmasked; and the sets of bench/pii_sets.py: names from an independent source
(mimesis) per script, known contacts in every written form, values that must stay readable, and
e-mails, phones, cards, IBANs and IPs in hostile formats.

A gold span counts as found when a detected span overlaps it (masking hides it, whatever label
the detector gave); a detection is correct when it overlaps any gold span. Run:

    .venv/bin/python -m bench.pii_eval [--dataset PATH]   (default: BENCH_PII_DATASET or ../shared/data/pii)
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from adapters.crm.base import DirectoryEntry
from adapters.crm.demo.generate import DemoData, generate
from bench import pii_sets
from bot.config import PrivacySection
from bot.privacy.detector import Detector
from bot.privacy.known import KnownEntityIndex, entities_from_directory

# The shared dataset beside the repository, or where BENCH_PII_DATASET points.
DEFAULT_DATASET = Path(os.environ.get("BENCH_PII_DATASET") or
                       Path(__file__).resolve().parents[2] / "shared" / "data" / "pii" / "synth_dataset_v2.json")
Gold = tuple[int, int, str]


def score(detector: Detector, samples: Iterable[tuple[str, list[Gold]]]) -> dict[str, Any]:
    """Per gold type: spans, found, recall; per detected type: detections, correct, precision."""
    gold_total: dict[str, int] = defaultdict(int)
    gold_found: dict[str, int] = defaultdict(int)
    det_total: dict[str, int] = defaultdict(int)
    det_correct: dict[str, int] = defaultdict(int)
    misses: dict[str, list[str]] = defaultdict(list)
    false_hits: dict[str, list[str]] = defaultdict(list)
    for text, gold in samples:
        spans = detector.detect(text)
        for start, end, kind in gold:
            gold_total[kind] += 1
            if any(s.start < end and start < s.end for s in spans):
                gold_found[kind] += 1
            elif len(misses[kind]) < 5:
                misses[kind].append(text[start:end])
        for s in spans:
            det_total[s.entity_type] += 1
            if any(s.start < end and start < s.end for start, end, _ in gold):
                det_correct[s.entity_type] += 1
            elif len(false_hits[s.entity_type]) < 5:
                false_hits[s.entity_type].append(text[s.start:s.end])
    return {
        "recall": {k: {"spans": gold_total[k], "found": gold_found[k], "recall": gold_found[k] / gold_total[k]}
                   for k in sorted(gold_total)},
        "precision": {k: {"detections": det_total[k], "correct": det_correct[k],
                          "precision": det_correct[k] / det_total[k]} for k in sorted(det_total)},
        "overall_precision": sum(det_correct.values()) / max(1, sum(det_total.values())),
        "missed_examples": dict(misses),
        "false_examples": dict(false_hits),
    }


def shared_dataset(path: Path) -> list[tuple[str, list[Gold]]]:
    records = json.loads(path.read_text(encoding="utf-8"))
    return [
        (r["full_text"], [(s["start_position"], s["end_position"], s["entity_type"]) for s in r["spans"]])
        for r in records
    ]


CRM_TEMPLATES = (
    "Spoke with {name} ({email}) about the {amount} {currency} renewal of deal #{deal}; close date {date}.",
    "Please call {name} on {phone} before {date}: ticket {ticket} is urgent and Brightdesk Pro is down.",
    "{name} asked for 15% off the Insights add-on; quote Q-{deal} for {amount} {currency} expires {date}.",
    "Forward the SLA summary to {email} and log a call with {name}. Stage: negotiation, 40 agents.",
    "Meeting notes: {name} and {name2} want Brightdesk Enterprise by {date}; budget {amount} {currency}.",
    "New lead from the webinar: {name}, {title}, phone {phone}, e-mail {email}.",
    "Deals {deal}, {ticket} and 1050 moved to proposal on {date} 14:30; invoice INV-2026-00042 is {amount}.00 {currency}.",
    "Q4 2026 forecast: {amount} {currency} across 12 deals, 3 of them at 80% (see record {deal}); {name} owns it.",
)


@functools.cache
def _demo() -> DemoData:
    """The scale-1 demo CRM both the messages and the index are made from (generated once)."""
    return generate(scale=1, seed=7, today=date(2026, 11, 2))


def crm_messages(count: int = 1000, seed: int = 11) -> list[tuple[str, list[Gold]]]:
    """Messages about demo contacts with the position of every inserted personal value."""
    data = _demo()
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        a, b = rng.sample(data.contacts, 2)
        deal = rng.choice(data.deals)
        values = {
            "name": (f"{a['first_name']} {a['last_name']}", "PERSON"),
            "name2": (f"{b['first_name']} {b['last_name']}", "PERSON"),
            "email": (a["email"], "EMAIL_ADDRESS"),
            "phone": (a["phone"], "PHONE_NUMBER"),
            "amount": (f"{deal['amount']:,}", None), "currency": (deal["currency"], None),
            "deal": (str(deal["id"]), None), "ticket": (str(rng.randint(1000, 99999)), None),
            "date": (rng.choice(("2026-12-01", "30 November 2026", "1/15/2027")), None),
            "title": (a["title"], None),
        }
        text, gold = pii_sets.fill(rng.choice(CRM_TEMPLATES), values)
        out.append((text, gold))
    return out


def directory(contacts: Sequence[dict[str, Any]], companies: Sequence[dict[str, Any]] = ()) -> list[DirectoryEntry]:
    """Demo-generator rows as the local CRM adapter's `directory()` yields them: contacts, then companies."""
    out = [DirectoryEntry("contact", c["id"], (f"{c['first_name']} {c['last_name']}", *c["aliases"]),
                          (c["email"],), (c["phone"],)) for c in contacts]
    out += [DirectoryEntry("company", c["id"], (c["name"],), (), (c["phone"],) if c["phone"] else ())
            for c in companies]
    return out


def crm_index() -> KnownEntityIndex:
    return KnownEntityIndex(entities_from_directory(directory(_demo().contacts), company_names=False))


def by_group(detector: Detector, samples: Iterable[pii_sets.Sample]) -> dict[str, Any]:
    """Recall per sample group (a script, a written form, an entity type), and in total."""
    spans: dict[str, int] = defaultdict(int)
    found: dict[str, int] = defaultdict(int)
    misses: dict[str, list[str]] = defaultdict(list)
    detections = correct = 0
    for text, gold, group in samples:
        detected = detector.detect(text)
        for start, end, _ in gold:
            spans[group] += 1
            if any(s.start < end and start < s.end for s in detected):
                found[group] += 1
            elif len(misses[group]) < 4:
                misses[group].append(text[start:end])
        detections += len(detected)
        correct += sum(1 for s in detected if any(s.start < e and b < s.end for b, e, _ in gold))
    groups = {g: {"spans": spans[g], "found": found[g], "recall": found[g] / spans[g]} for g in sorted(spans)}
    total = sum(spans.values())
    return {"groups": groups, "total": {"spans": total, "found": sum(found.values()),
                                        "recall": sum(found.values()) / max(1, total)},
            "precision": {"detections": detections, "correct": correct, "precision": correct / max(1, detections)},
            "missed_examples": dict(misses)}


def kept(detector: Detector, samples: Iterable[pii_sets.Sample]) -> dict[str, Any]:
    """The share of must-keep values that no detection touches."""
    items = intact = 0
    damaged: list[str] = []
    for text, gold, _ in samples:
        detected = detector.detect(text)
        for start, end, _ in gold:
            items += 1
            hit = [s for s in detected if s.start < end and start < s.end]
            if not hit:
                intact += 1
            elif len(damaged) < 8:
                damaged.append(f"{text[start:end]} ({hit[0].entity_type}: {text[hit[0].start:hit[0].end]})")
    return {"items": items, "kept": intact, "precision": intact / max(1, items), "damaged_examples": damaged}


def run(dataset: Path | None = DEFAULT_DATASET) -> dict[str, Any]:
    """Every score; without a dataset, all but the shared dataset's."""
    from bot.privacy.known import KnownEntity
    from bot.privacy.words import common_words

    settings = shipped_settings()
    without_crm = Detector(settings.model_copy(update={"known_entities": False}))
    index = crm_index()
    with_crm = Detector(settings, lambda: index)
    messages = crm_messages()
    shared = shared_dataset(dataset) if dataset is not None else None
    result: dict[str, Any] = {"suite": "pii_eval"}
    if shared is not None:
        result["shared_dataset"] = score(without_crm, shared)
    result["crm_messages_with_crm_index"] = score(with_crm, messages)
    result["crm_messages_without_crm_index"] = score(without_crm, messages)
    if shared is not None:
        lexicon_only = Detector(settings.model_copy(update={"known_entities": False, "entities": ()}))
        result["names_lexicon_only_on_shared_dataset"] = score(lexicon_only, [
            (t, [g for g in gold if g[2] == "PERSON"]) for t, gold in shared
        ])
    result["independent_names"] = by_group(without_crm, pii_sets.independent_names())
    result["known_forms"] = by_group(with_crm, pii_sets.known_forms(_demo().contacts, common_words()))
    tricky = KnownEntityIndex([
        *entities_from_directory(directory(_demo().contacts), company_names=False),
        *(KnownEntity("PERSON", name, f"contact:{900000 + i}") for i, name in enumerate(pii_sets.TRICKY_CONTACTS)),
    ])
    result["must_keep"] = kept(Detector(settings, lambda: tricky), pii_sets.must_keep())
    result["hostile_formats_with_crm_index"] = by_group(with_crm, pii_sets.hostile_formats())
    return result


def shipped_settings() -> PrivacySection:
    """The privacy settings as app.toml ships them (allow list included), without environment overrides."""
    from bot.config import load_settings

    return load_settings(Path(__file__).resolve().parents[1] / "app.toml", env={}).privacy


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pii_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    if not args.dataset.is_file():
        parser.error(f"{args.dataset}: no such file; pass the labelled dataset with --dataset PATH")
    result = run(args.dataset)
    for name, part in result.items():
        if not isinstance(part, dict):
            continue
        print(f"\n## {name}")
        if "groups" in part:
            for group, r in part["groups"].items():
                print(f"  recall    {group:30} {r['found']:5}/{r['spans']:<5} {r['recall']:.3f}")
            t, p = part["total"], part["precision"]
            print(f"  recall    {'all':30} {t['found']:5}/{t['spans']:<5} {t['recall']:.3f}")
            print(f"  precision {'all':30} {p['correct']:5}/{p['detections']:<5} {p['precision']:.3f}")
            print(f"  missed: {json.dumps(part['missed_examples'], ensure_ascii=False)[:600]}")
            continue
        if "kept" in part:
            print(f"  kept      {part['kept']:5}/{part['items']:<5} {part['precision']:.3f}")
            print(f"  damaged: {json.dumps(part['damaged_examples'], ensure_ascii=False)[:600]}")
            continue
        for kind, r in part["recall"].items():
            print(f"  recall    {kind:18} {r['found']:5}/{r['spans']:<5} {r['recall']:.3f}")
        for kind, p in part["precision"].items():
            print(f"  precision {kind:18} {p['correct']:5}/{p['detections']:<5} {p['precision']:.3f}")
        print(f"  overall precision {part['overall_precision']:.3f}")
        print(f"  missed: {json.dumps(part['missed_examples'], ensure_ascii=False)[:600]}")
        print(f"  false:  {json.dumps(part['false_examples'], ensure_ascii=False)[:600]}")


if __name__ == "__main__":
    main()
