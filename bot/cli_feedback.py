"""`python -m bot feedback report`: ratings of answers per week and per tool the answers used."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.config import Settings


def add_parsers(sub: Any) -> None:
    feedback = sub.add_parser("feedback", help="ratings people gave the bot's answers")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True, metavar="SUBCOMMAND")
    report = feedback_sub.add_parser("report", help="thumbs up and down per week and per tool the answers used")
    report.add_argument("--weeks", type=_weeks, default=12, help="how many weeks back (default 12, 0: all)")
    report.add_argument("--json", action="store_true", help="print JSON lines")


def _weeks(value: str) -> int:
    try:
        weeks = int(value)
    except ValueError:
        weeks = -1
    if weeks < 0:
        raise argparse.ArgumentTypeError(f"expected a number of weeks (0 or more), got {value!r}")
    return weeks


def cmd_feedback(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store.feedback import SqlFeedback
    from bot.wiring import build_checked

    components = build_checked(settings)
    since = datetime.now(timezone.utc) - timedelta(weeks=args.weeks) if args.weeks else None
    rows = SqlFeedback(components.engine).report(since=since)
    if args.json:
        for row in rows:
            print(json.dumps({"week": row.week, "tool": row.tool, "up": row.up, "down": row.down}))
        return 0
    if not rows:
        print("no ratings yet" + (f" in the last {args.weeks} weeks" if args.weeks else ""))
        return 0
    width = max(len(r.tool) for r in rows)
    print(f"{'week':<9} {'tool':<{width}} {'up':>4} {'down':>4} {'helpful':>8}")
    for r in rows:
        print(f"{r.week:<9} {r.tool:<{width}} {r.up:>4} {r.down:>4} {r.up / (r.up + r.down):>8.0%}")
    return 0


COMMANDS = {"feedback": cmd_feedback}
