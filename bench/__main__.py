"""`python -m bench [SUITE ...]`: run benchmark suites (default: all), save results, rebuild the docs.

Every suite is a function returning a dict in the shape `bench.report` describes. Its result is
written to bench/results/<suite>.json as soon as it finishes, then docs/benchmarks.md is rebuilt
from all result files present, so running one suite keeps the other suites' sections.
To add a suite: write bench/<name>.py with a `run()` and add it to SUITES below.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import access, agent, digests, faults, foundation, hubspot, ops, privacy, report, slack, surfaces
from bench.common import RESULTS_DIR, log

SUITES: dict[str, Callable[[], dict[str, Any]]] = {
    "foundation": foundation.run,
    "privacy": privacy.run,
    "agent": agent.run,
    "slack": slack.run,
    "ops": ops.run,
    "digests": digests.run,
    "access": access.run,
    "hubspot": hubspot.run,
    "surfaces": surfaces.run,
    "faults": faults.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=f"one of: {', '.join(SUITES)} (default: all)")
    parser.add_argument("--render", action="store_true", help="only rebuild docs/benchmarks.md from saved results")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(SUITES))
        return 0
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    if not args.render:
        started = time.perf_counter()
        for name in args.suites or list(SUITES):
            result = SUITES[name]()
            path = Path(RESULTS_DIR) / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            # default=str: dates and Decimals in raw data must not abort a finished run.
            path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
            log(report.summary(result))
            log(f"wrote {path}")
        log(f"benchmarks took {time.perf_counter() - started:.0f} s")
    page = report.write_docs(list(SUITES))
    log(f"wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
