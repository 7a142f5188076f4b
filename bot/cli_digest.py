"""Terminal commands for digests: list, preview, run (posts now through Slack)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.config import Settings
from bot.records import RunStatus


class DigestCommandError(Exception):
    """A user mistake in a digest command (printed as one line by the CLI)."""


def add_parsers(sub: Any) -> None:
    """`digest list | preview NAME | run NAME`."""
    digest = sub.add_parser("digest", help="scheduled digests: list, preview, run now")
    verbs = digest.add_subparsers(dest="digest_command", required=True, metavar="SUBCOMMAND")
    verbs.add_parser("list", help="the digests (app.toml and Slack subscriptions) and their last runs")
    preview = verbs.add_parser("preview", help="print a digest as it would be posted now (nothing is posted); "
                               "with SLACK_BOT_TOKEN set, only what every member of its channel may see, "
                               "without it (no channel to ask) from the whole CRM")
    preview.add_argument("name")
    preview.add_argument("--full", action="store_true", help="every line, not only those shown in the message")
    run = verbs.add_parser("run", help="post a digest now (needs SLACK_BOT_TOKEN)")
    run.add_argument("name")


def _service(settings: Settings, *, post: bool) -> Any:
    from bot.wiring import (
        build_approvals,
        build_checked,
        build_digests,
        slack_publisher,
        terminal_digest_audience,
    )

    components = build_checked(settings)
    publisher = slack_publisher(settings) if post else None
    # The channel's members decide what a digest may carry; with no Slack to ask them, the terminal
    # (its operator reads the CRM anyway) previews from the whole CRM.
    audience = terminal_digest_audience(settings, components.crm) if settings.secrets.slack_bot_token else None
    # Nothing here writes app.toml's digests into the database: that is the running bot's job, and
    # a command run with another config file must not change what the bot schedules.
    return build_digests(settings, components, build_approvals(components), publisher=publisher, audience=audience)


def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    """Run one digest subcommand; exit status 0, or 1 when `run` did not post."""
    from bot.digests.text import as_text

    if args.digest_command == "run" and not settings.secrets.slack_bot_token:
        raise DigestCommandError("SLACK_BOT_TOKEN is not set: `digest run` posts to Slack; "
                                 "`digest preview` prints it without posting")
    service = _service(settings, post=args.digest_command == "run")
    if args.digest_command == "list":
        subs = service.subscriptions()
        if not subs:
            print("no digests: add [[digests]] to app.toml or use /crm digest subscribe in Slack")
        for sub in subs:
            last = service.store.last_run(sub.name)
            state = "never ran" if last is None else (
                f"last run {last.scheduled_for:%Y-%m-%d %H:%M} UTC: {last.status}"
                + (f" ({last.error})" if last.status == RunStatus.FAILED and last.error else ""))
            print(f"{sub.name}\t{sub.channel}\t{sub.cron} {sub.timezone}\t{','.join(sub.sections)}\t{sub.source}\t{state}")
        return 0
    if args.digest_command == "preview":
        from bot.digests.audience import AudienceUnavailable

        try:
            digest = asyncio.run(service.preview(args.name))
        except AudienceUnavailable as exc:
            raise DigestCommandError(f"{exc}: the preview needs the channel's members") from None
        if digest is None:
            raise DigestCommandError(f'no digest named "{args.name}"; `python -m bot digest list` shows them')
        lines = 10**9 if args.full else settings.digest_sections.lines_per_section
        print(as_text(digest, lines_per_section=lines))
        return 0
    outcome = asyncio.run(service.run_now(args.name))
    if outcome.status == "unknown":
        raise DigestCommandError(f'{outcome.message}; `python -m bot digest list` shows them')
    print(f"{outcome.name}: {outcome.message}")
    return 0 if outcome.status == RunStatus.POSTED else 1


COMMANDS = {"digest": cmd_digest}
