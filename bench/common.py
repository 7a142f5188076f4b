"""Shared helpers of the benchmark suites: timing, percentiles, scratch databases, machine info.

Latencies are collected as integer nanoseconds from `time.perf_counter_ns` and reported in
milliseconds. Percentiles use the nearest-rank method, so every reported figure is one of the
measured samples, never an interpolation between two.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import importlib.metadata
import math
import os
import platform
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(REPO, "bench", "results")
DOCS_PAGE = os.path.join(REPO, "docs", "benchmarks.md")

# Same server and override variable as the test suite (tests/conftest.py), so one setting
# points both at another PostgreSQL.
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

SQLITE = "SQLite"
POSTGRES = "PostgreSQL"


def log(message: str) -> None:
    """Progress line on stdout, flushed at once so a long run shows where it is."""
    print(message, flush=True)


# -- timing -------------------------------------------------------------------------------------


def percentile(sorted_ns: list[int], p: float) -> int:
    """Nearest-rank percentile of already sorted samples."""
    if not sorted_ns:
        raise ValueError("no samples")
    rank = max(1, math.ceil(p / 100 * len(sorted_ns)))
    return sorted_ns[rank - 1]


def summarize(samples_ns: Iterable[int]) -> dict[str, float]:
    """n, p50, p95, p99, max and mean in milliseconds."""
    ordered = sorted(samples_ns)
    ms = 1e6
    return {
        "n": len(ordered),
        "p50_ms": percentile(ordered, 50) / ms,
        "p95_ms": percentile(ordered, 95) / ms,
        "p99_ms": percentile(ordered, 99) / ms,
        "max_ms": ordered[-1] / ms,
        "mean_ms": sum(ordered) / len(ordered) / ms,
    }


def time_call(fn: Callable[..., Any], *args: Any) -> tuple[int, Any]:
    """(elapsed ns, result) of one call of fn(*args)."""
    start = time.perf_counter_ns()
    result = fn(*args)
    return time.perf_counter_ns() - start, result


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect garbage before a timed loop so a pause owed to earlier work does not land in it.

    The collector stays enabled: pauses caused by the measured code itself are part of its cost.
    """
    gc.collect()
    yield


@contextlib.contextmanager
def gc_pauses() -> Iterator[list[float]]:
    """The length of every garbage-collector pause while the block runs, in seconds (any thread)."""
    pauses: list[float] = []
    started: list[float] = []

    def timer(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append(time.perf_counter() - started.pop())

    gc.callbacks.append(timer)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(timer)


# -- databases ----------------------------------------------------------------------------------


def pg_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)


@contextlib.contextmanager
def scratch_postgres(purpose: str) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database `bench_<purpose>_<random>`, dropped afterwards."""
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"bench_{purpose}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)
        finally:
            # FORCE: a connection left in some pool must not keep the scratch database alive.
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_version() -> str:
    admin = create_engine(pg_admin_url())
    try:
        with admin.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        admin.dispose()


# -- environment ----------------------------------------------------------------------------------


def load_average() -> float:
    """The 1-minute load average: the machine is shared, so it says how much the figures may be disturbed."""
    return round(os.getloadavg()[0], 2)


def proc_status_mb() -> dict[str, float]:
    """This process's resident memory now (`VmRSS`) and at its peak (`VmHWM`), in MB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as f:
        return {k: int(v.split()[0]) / 1024 for k, v in (line.split(":", 1) for line in f) if k in ("VmRSS", "VmHWM")}


def reset_peak_rss() -> None:
    """Reset this process's `VmHWM` to its current RSS (Linux 4.0 and later); raises OSError elsewhere.

    `getrusage().ru_maxrss` cannot be reset, and a child inherits its parent's through fork and exec.
    """
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


def machine_info(*, databases: bool = True, libraries: Iterable[str] = ()) -> dict[str, Any]:
    """What the figures depend on: CPU, load, interpreter, date, the database versions (unless not
    used) and the versions of the named distributions."""
    cpu_model = ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    import sqlalchemy

    info = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": usable,
        "cpu": cpu_model or platform.processor() or "unknown",
        "load_avg_1m_at_start": load_average(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
    }
    if databases:
        info.update(sqlite=sqlite3.sqlite_version, postgresql=postgres_version(), sqlalchemy=sqlalchemy.__version__)
    if libraries:
        info["libraries"] = {name: importlib.metadata.version(name) for name in libraries}
    return info


# -- result cells ---------------------------------------------------------------------------------


def verdict(value: float, limit: float | None) -> bool | None:
    """True when value is strictly under limit; None when no target applies."""
    return None if limit is None else value < limit


def cell(value: float, unit: str, limit: float | None = None, digits: int = 2) -> dict[str, Any]:
    """One measured figure of a results table, judged against an exclusive target (value < limit)."""
    # A value just under its limit must not print as the limit itself ("5.00 ms" passing "< 5 ms").
    while limit is not None and value != limit and digits < 6 and round(value, digits) == limit:
        digits += 1
    return {"value": value, "unit": unit, "text": f"{value:,.{digits}f} {unit}".strip(),
            "pass": verdict(value, limit)}


def at_most(value: float, unit: str, limit: float, digits: int = 2) -> dict[str, Any]:
    """A figure judged against an inclusive target (value <= limit)."""
    return {**cell(value, unit, None, digits), "pass": value <= limit}


def status(passed: bool | None) -> str:
    return "" if passed is None else ("pass" if passed else "FAIL")
