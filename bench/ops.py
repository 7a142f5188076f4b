"""The `ops` suite: what metrics and the log of decisions cost the acknowledgements.

The `slack` suite's load (50 user actions a second for 30 s against the real bot process in
Socket Mode: mentions answered by a scripted model after 2 s, `/crm` commands, Approve clicks)
runs several times, alternately with `bot.metrics` and `bot.decision_log` off and on (the
defaults), each run on a fresh copy of one prepared database and with a model server of its own.
The figure is the median over the runs of each arm of the ack p99, and the overhead is the
difference of the two medians.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import slack
from bench.common import at_most, load_average, log, machine_info

ROUNDS = int(os.environ.get("BENCH_OPS_ROUNDS", "3"))
MODE = "socket"
OVERHEAD_LIMIT_PCT = 5.0
ARMS = {"off": {"BOT_BOT__METRICS": "false", "BOT_BOT__DECISION_LOG": "false"}, "on": {}}
LABELS = {"off": "metrics and decision log off", "on": "metrics and decision log on"}


def _one(workdir: Path, base: Path, names: list[str], arm: str, n: int) -> dict[str, Any]:
    from bot.store.engine import make_engine

    db = workdir / f"{arm}-{n}.db"
    shutil.copy(base, db)
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    try:
        with slack.model_server() as model:
            log(f"ops: round {n + 1}/{ROUNDS}, {LABELS[arm]}")
            result = asyncio.run(slack.run_mode(MODE, workdir, url, engine, model, names, extra_env=ARMS[arm],
                                                tag=f"-{arm}-{n}"))
    finally:
        engine.dispose()
    all_ = result["latency"]["all"]
    return {"arm": arm, "round": n, "p99_ms": all_["p99_ms"], "p50_ms": all_["p50_ms"], "max_ms": all_["max_ms"],
            "per_kind_p99_ms": {k: v["p99_ms"] for k, v in result["latency"].items()},
            "lost": result["counts"]["lost"], "duplicated": result["counts"]["duplicated"],
            "log_lines": result["bot_log"]["lines"], "bot_cpu_percent": result["cpu_percent"]["bot"],
            "actions_per_s": result["actions_per_s"], "load_avg": result["load_avg"],
            "exit_code": result["bot_exit_code"]}


def run() -> dict[str, Any]:
    started = time.perf_counter()
    machine = machine_info(databases=False, libraries=("slack_bolt", "prometheus_client"))
    workdir = Path(tempfile.mkdtemp(prefix="bench_ops_"))
    try:
        base = workdir / "base.db"
        log("ops: preparing the database (migrate, seed-demo --scale 1, kb-reindex)")
        slack.prepare_database(f"sqlite:///{base}")
        from bot.store.engine import make_engine

        engine = make_engine(f"sqlite:///{base}")
        with engine.connect() as conn:
            names = [n for (n,) in conn.execute(text("SELECT name FROM crm_company ORDER BY id LIMIT 40"))]
        engine.dispose()
        runs = []
        for n in range(ROUNDS):
            # Which arm goes first alternates, so a machine getting busier favours neither.
            for arm in (("off", "on") if n % 2 == 0 else ("on", "off")):
                runs.append(_one(workdir, base, names, arm, n))
    finally:
        if os.environ.get("BENCH_KEEP_TMP"):
            log(f"ops: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    machine["load_avg_1m_at_end"] = load_average()
    medians = {arm: {key: statistics.median(r[key] for r in runs if r["arm"] == arm)
                     for key in ("p99_ms", "p50_ms", "max_ms", "log_lines", "bot_cpu_percent")} for arm in ARMS}
    overhead = 100 * (medians["on"]["p99_ms"] - medians["off"]["p99_ms"]) / medians["off"]["p99_ms"]
    data = {"rounds": ROUNDS, "mode": MODE, "rate": slack.RATE, "duration_s": slack.DURATION_S, "runs": runs,
            "medians": medians, "overhead_p99_pct": overhead}
    return {"suite": "ops", "title": "Operations: the cost of metrics and the log of decisions",
            "machine": machine, "duration_s": time.perf_counter() - started, "sections": _sections(data, machine),
            "data": data}


def _sections(d: dict[str, Any], machine: dict[str, Any]) -> list[dict[str, Any]]:
    cols = [LABELS["off"], LABELS["on"]]
    m = d["medians"]

    def info(fn: Any) -> dict[str, Any]:
        return {LABELS[arm]: {"text": fn(arm), "pass": None} for arm in ARMS}

    def total(key: str, arm: str) -> int:
        return sum(r[key] for r in d["runs"] if r["arm"] == arm)

    rows = [
        {"measure": f"Ack p99, all requests (median of {d['rounds']} runs)", "target": None,
         "cells": info(lambda a: f"{m[a]['p99_ms']:.1f} ms")},
        {"measure": "Ack p99 overhead of metrics and the log of decisions", "target": f"≤ {OVERHEAD_LIMIT_PCT:g} %",
         "cells": {LABELS["off"]: None, LABELS["on"]: at_most(d["overhead_p99_pct"], "%", OVERHEAD_LIMIT_PCT, 1)}},
        {"measure": "Ack p50 / max (medians)", "target": None,
         "cells": info(lambda a: f"{m[a]['p50_ms']:.1f} / {m[a]['max_ms']:.1f} ms")},
        {"measure": "Bot CPU during the load (median)", "target": None,
         "cells": info(lambda a: f"{m[a]['bot_cpu_percent']:.0f}%")},
        {"measure": "Bot log lines per run (median)", "target": None, "cells": info(lambda a: f"{m[a]['log_lines']:.0f}")},
        {"measure": "Lost / duplicated, all runs", "target": "0 / 0", "cells": {
            LABELS[a]: at_most(total("lost", a) + total("duplicated", a), "", 0, digits=0) for a in ARMS}},
    ]
    table = {"caption": "Each run: ack p50 / p99 / max (ms), achieved actions/s, bot CPU, load average at start / end",
             "columns": ["run", "arm", "p50 / p99 / max", "actions/s", "bot CPU", "load average"],
             "rows": [[str(r["round"] + 1), LABELS[r["arm"]],
                       f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} / {r['max_ms']:.1f}", f"{r['actions_per_s']:.1f}",
                       f"{r['bot_cpu_percent']:.0f}%", f"{r['load_avg'][0]} / {r['load_avg'][1]}"] for r in d["runs"]]}
    notes = [
        (f"Method: the `slack` suite's load ({d['rate']} actions/s for {d['duration_s']} s, Socket Mode, SQLite) "
         f"{2 * d['rounds']} times in one run of the suite, alternating `BOT_BOT__METRICS=false` and "
         "`BOT_BOT__DECISION_LOG=false` with the defaults (both on, text log); which arm goes first alternates "
         "by round (`BENCH_OPS_ROUNDS` sets the number of rounds, default 3). Each run starts a new bot process on "
         "a fresh copy of the same prepared database. The ops "
         "port is not scraped during the load (Prometheus would read it every 15 s or so, one request)."),
        ("With both on, the bot counts every acknowledgement, request, model call, tool call, detection pass and "
         "proposal step, and writes a line per request received, per proposal created, decided and executed."),
        (f"Machine: {machine['cores']} cores shared with other work; 1-minute load average "
         f"{machine['load_avg_1m_at_start']} at the start and {machine['load_avg_1m_at_end']} at the end. "
         "The difference between the arms is within the run-to-run noise of this machine when it is small; "
         "the per-run table shows that noise."),
    ]
    return [{"title": "Ack p99 with metrics and the log of decisions off and on",
             "description": __doc__.split("\n\n", 1)[1].strip(), "columns": cols, "rows": rows, "tables": [table],
             "notes": notes}]
