"""Render docs/benchmarks.md from every result file in bench/results/, and the stdout summary.

A result file is the JSON a suite returns:

    {"suite": "foundation", "title": "...", "duration_s": 123.4,
     "machine": {"date", "cores", "cpu", "python", "sqlite", "postgresql", ...},
     "sections": [{"title", "description", "columns": ["SQLite", "PostgreSQL"],
                   "rows": [{"measure", "target" (text or null),
                             "cells": {column: {"text", "value", "unit", "pass"} or null}}],
                   "tables": [{"caption", "columns", "rows": [[text, ...]]}],
                   "notes": [text]}],
     "data": {...raw measurements...}}

Only this shape is read here, so a later suite gets its own section on the page by writing one
more file; nothing in this module knows what any suite measures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.common import DOCS_PAGE, RESULTS_DIR, status

INTRO = """\
# Benchmarks

Performance figures of the CRM copilot, measured against the targets set for each part. This
page is generated: do not edit it by hand. To reproduce, from the repository root:

```sh
make bench                                   # every suite
.venv/bin/python -m bench foundation         # one suite
.venv/bin/python -m bench --render           # rebuild this page from bench/results/*.json
```

Each suite writes `bench/results/<suite>.json` (raw numbers, not committed) and this page is
rebuilt from all result files present; a suite with no result file keeps its section from the
previous version of the page. PostgreSQL is expected on 127.0.0.1:5432 as for the tests
(`TEST_POSTGRES_URL` overrides it); the benchmarks create and drop their own scratch databases.
Latencies are per call, measured with `time.perf_counter_ns` around the adapter method, and
percentiles are nearest-rank. The machine is shared, so expect some run-to-run noise, mostly in
the p99 and max columns.
"""


def load_results() -> list[dict[str, Any]]:
    """Every result file in bench/results/."""
    return [json.loads(f.read_text(encoding="utf-8")) for f in sorted(Path(RESULTS_DIR).glob("*.json"))]


def _cell(c: dict[str, Any] | None) -> str:
    if not c:
        return "—"
    if c.get("pass") is True:
        return f"{c['text']} ✅"
    if c.get("pass") is False:
        return f"**{c['text']} ❌**"
    return c["text"]


def _table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def verdicts(result: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(section, measure, column, passed) for every judged figure of a result."""
    out = []
    for section in result["sections"]:
        for row in section["rows"]:
            for column, c in row["cells"].items():
                if c and c.get("pass") is not None:
                    out.append((section["title"], row["measure"], column, bool(c["pass"])))
    return out


def _versions(machine: dict[str, Any]) -> list[str]:
    """Python, the databases a suite used and any libraries it names, in that order."""
    out = [f"Python {machine['python']}"]
    out += [f"{label} {machine[key]}" for key, label in
            (("sqlite", "SQLite"), ("postgresql", "PostgreSQL"), ("sqlalchemy", "SQLAlchemy")) if key in machine]
    out += [f"{name} {version}" for name, version in machine.get("libraries", {}).items()]
    return out


def render_suite(result: dict[str, Any]) -> list[str]:
    m = result["machine"]
    judged = verdicts(result)
    failed = [v for v in judged if not v[3]]
    lines = [
        f"## {result['title']}",
        "",
        f"Suite `{result['suite']}`, run {m['date']} in {result['duration_s']:.0f} s on {m['cores']} cores "
        f"({m['cpu']}, 1-minute load average {m['load_avg_1m_at_start']} at start"
        + (f", {m['load_avg_1m_at_end']} at end" if "load_avg_1m_at_end" in m else "")
        + f"), {m['os']}; " + ", ".join(_versions(m)) + ".",
        "",
        f"**{len(judged) - len(failed)} of {len(judged)} judged figures meet their target.**"
        + ("" if not failed else " Missed: " + "; ".join(f"{c} {meas}" for _, meas, c, _ in failed) + "."),
        "",
    ]
    for section in result["sections"]:
        lines += [f"### {section['title']}", "", section["description"], ""]
        columns = ["Measure", "Target", *section["columns"]]
        lines += _table(columns, (
            [row["measure"], row["target"] or "—", *(_cell(row["cells"].get(c)) for c in section["columns"])]
            for row in section["rows"]
        ))
        lines.append("")
        for table in section.get("tables", []):
            lines += [f"*{table['caption']}*", ""]
            lines += _table(table["columns"], table["rows"])
            lines.append("")
        for note in section.get("notes", []):
            lines += [note, ""]
    return lines


def previous_sections(text: str) -> dict[str, list[str]]:
    """Suite name -> its section ("## title" up to the next "## ") in an earlier page."""
    sections: dict[str, list[str]] = {}
    chunk: list[str] = []
    for line in [*text.splitlines(), "## "]:
        if line.startswith("## "):
            suite = next((ln.split("`")[1] for ln in chunk if ln.startswith("Suite `")), None)
            if suite:
                sections[suite] = chunk
            chunk = []
        chunk.append(line)
    return sections


def write_docs(order: Sequence[str]) -> Path:
    """Rebuild docs/benchmarks.md: known suites in the given order first, then any others by name."""
    page = Path(DOCS_PAGE)
    results = load_results()
    fresh = {r.get("suite") for r in results}
    # Result files are not committed: a section whose file is absent here is kept as it was.
    kept = {name: lines for name, lines in
            (previous_sections(page.read_text(encoding="utf-8")) if page.exists() else {}).items()
            if name not in fresh}
    rank = {name: i for i, name in enumerate(order)}
    parts = [(r.get("suite", ""), render_suite(r)) for r in results] + list(kept.items())
    parts.sort(key=lambda p: (rank.get(p[0], len(rank)), p[0]))
    lines = INTRO.splitlines() + [""]
    if not parts:
        lines += ["No results yet: run `make bench`.", ""]
    for _, section in parts:
        lines += section
        if section and section[-1] != "":
            lines.append("")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return page


def summary(result: dict[str, Any]) -> str:
    """Compact plain-text table of a suite's judged and unjudged rows, for stdout."""
    out = [f"== {result['suite']}: {result['title']} ({result['duration_s']:.0f} s)"]
    for section in result["sections"]:
        out.append(f"-- {section['title']}")
        for row in section["rows"]:
            cells = []
            for column in section["columns"]:
                c = row["cells"].get(column)
                if c:
                    mark = status(c.get("pass"))
                    cells.append(f"{column} {c['text']}{' ' + mark if mark else ''}")
            target = f" [target {row['target']}]" if row["target"] else ""
            measure = row["measure"].replace("`", "")
            out.append(f"   {measure}{target}: " + "; ".join(cells))
    judged = verdicts(result)
    failed = sum(1 for v in judged if not v[3])
    out.append(f"== {len(judged) - failed}/{len(judged)} judged figures pass")
    return "\n".join(out)
