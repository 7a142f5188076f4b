"""`python -m bot run`: connect to Slack and answer until stopped (also what `dev` runs)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.config import Settings
from bot.wiring import build_checked


class RunError(Exception):
    """A reason the bot cannot start that the user can fix (printed as one line by the CLI)."""


def add_parsers(sub: Any) -> None:
    sub.add_parser("run", help="connect to Slack and answer (Socket Mode or HTTP)").add_argument(
        "--port", type=int, default=3000, help="HTTP port in HTTP mode (default 3000)"
    )


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.slack.client import SlackUnavailable
    from bot.store.tables import utcnow
    from bot.wiring import build_services, run_slack

    components = build_checked(settings)
    secrets = settings.secrets
    if not secrets.slack_bot_token:
        raise RunError(
            "SLACK_BOT_TOKEN is not set: set it and SLACK_APP_TOKEN (Socket Mode) or "
            "SLACK_SIGNING_SECRET (HTTP mode); README, 'Connect to Slack', says where to find them"
        )
    if not secrets.slack_app_token and not secrets.slack_signing_secret:
        raise RunError("HTTP mode needs SLACK_SIGNING_SECRET to check that requests come from Slack; "
                       "set it, or set SLACK_APP_TOKEN to use Socket Mode")
    services = build_services(settings, components)
    try:
        asyncio.run(run_slack(settings, services, port=args.port, clock=utcnow))
    except SlackUnavailable as exc:
        raise RunError(f"{exc}; check the token and SLACK_API_URL") from None
    return 0


COMMANDS = {"run": cmd_run}
