"""`python -m bot failed list | show ID | retry ID | drop ID`: the dead-letter list from the terminal.

`retry` queues the item: the running bot (any replica) claims it on its next sweep and redoes it
where it belongs (a turn answers in its thread, an execution goes through the approval service,
a digest is posted), so the terminal needs no Slack connection and nothing is done twice.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.config import Settings


class FailedCommandError(Exception):
    """A user mistake in a `failed` command (printed as one line by the CLI)."""


def add_parsers(sub: Any) -> None:
    failed = sub.add_parser("failed", help="work accepted from Slack that could not be finished: list, show, "
                                           "retry, drop")
    verbs = failed.add_subparsers(dest="failed_command", required=True, metavar="SUBCOMMAND")
    listing = verbs.add_parser("list", help="open items (queued, being retried, failed), newest first")
    listing.add_argument("--all", action="store_true", help="also the items done and dropped")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    for verb, text in (("show", "one item: its reason and what redoes it (masked text only)"),
                       ("retry", "queue an item: the running bot retries it on its next sweep"),
                       ("drop", "give up on an item (it stays in the table, marked dropped)")):
        verbs.add_parser(verb, help=text).add_argument("id", type=int, help="the item's number (from `failed list`)")


def cmd_failed(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store.dead_letters import OPEN, SqlDeadLetters
    from bot.wiring import build_checked

    letters = SqlDeadLetters(build_checked(settings).engine)
    if args.failed_command == "list":
        statuses = (*OPEN, "done", "dropped") if args.all else OPEN
        items = letters.list(statuses=statuses, limit=1000)
        for letter in items:
            if args.json:
                print(json.dumps(_as_json(letter), ensure_ascii=False))
            else:
                print(f"{letter.id}\t{letter.kind}\t{letter.status}\t{letter.created_at:%Y-%m-%d %H:%M} UTC\t"
                      f"{letter.attempts} retries\t{letter.user or '-'}\t{letter.channel or '-'}\t{letter.reason}")
        if not items and not args.json:
            print("nothing on the failed list")
        return 0
    letter = letters.get(args.id)
    if letter is None:
        raise FailedCommandError(f"no failed item {args.id}; `python -m bot failed list` shows them")
    if args.failed_command == "show":
        print(json.dumps(_as_json(letter), ensure_ascii=False, indent=2))
        return 0
    if args.failed_command == "retry":
        if not letters.queue(letter.id):
            raise FailedCommandError(f"item {letter.id} is {letter.status}: only failed or queued items can be retried")
        print(f"item {letter.id} queued: the running bot retries it within {settings.slack.sweep_seconds:g} s")
        return 0
    if not letters.drop(letter.id):
        raise FailedCommandError(f"item {letter.id} is {letter.status}: only failed or queued items can be dropped")
    print(f"item {letter.id} dropped")
    return 0


def _as_json(letter: Any) -> dict[str, Any]:
    return {"id": letter.id, "kind": letter.kind, "ref": letter.ref, "status": letter.status, "reason": letter.reason,
            "user": letter.user, "channel": letter.channel, "attempts": letter.attempts,
            "next_try_at": letter.next_try_at.isoformat() if letter.next_try_at else None,
            "created_at": letter.created_at.isoformat(), "updated_at": letter.updated_at.isoformat(),
            "payload": letter.payload}


COMMANDS = {"failed": cmd_failed}
