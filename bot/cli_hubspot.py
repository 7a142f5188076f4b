"""Terminal commands for HubSpot: `hubspot setup` (properties, token and scopes)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.config import ConfigError, Settings


def add_parsers(sub: Any) -> None:
    """`hubspot setup`."""
    hubspot = sub.add_parser("hubspot", help="HubSpot tools (crm.adapter = \"hubspot\")")
    verbs = hubspot.add_subparsers(dest="hubspot_command", required=True, metavar="SUBCOMMAND")
    verbs.add_parser("setup", help="check the token's scopes and create the properties the bot writes; "
                                   "prints what is missing")


def cmd_hubspot(settings: Settings, args: argparse.Namespace) -> int:
    """Exit status 0 when HubSpot is ready for the bot, 1 when something is missing."""
    from adapters.crm.hubspot.setup import setup
    from bot.wiring import build_hubspot

    if not settings.secrets.hubspot_access_token:
        raise ConfigError("HUBSPOT_ACCESS_TOKEN: not set; set it to the access token of a HubSpot private app "
                          "(README, 'Connect HubSpot')")
    crm = build_hubspot(settings)
    report = setup(crm.transport)  # type: ignore[attr-defined]
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


COMMANDS = {"hubspot": cmd_hubspot}
