"""`python -m bot run`: connect to Slack and answer until stopped (also what `dev` runs)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.config import Settings
from bot.wiring import build_checked


class RunError(Exception):
    """A reason the bot cannot start that the user can fix (printed as one line by the CLI)."""


OPS_PORT = 9464  # Prometheus's usual port range for exporters


def add_parsers(sub: Any) -> None:
    run = sub.add_parser("run", help="connect to Slack and answer (Socket Mode or HTTP)")
    run.add_argument("--port", type=int, default=3000, help="HTTP port in HTTP mode (default 3000)")
    add_ops_arguments(run)


def add_ops_arguments(parser: argparse.ArgumentParser) -> None:
    """--ops-port and --ops-host, shared by `run` and `dev`."""
    parser.add_argument("--ops-port", type=int, default=OPS_PORT,
                        help=f"port of /healthz, /readyz and /metrics (default {OPS_PORT}; 0 picks a free one)")
    parser.add_argument("--ops-host", default="127.0.0.1",
                        help="address of the ops port (default 127.0.0.1: only this machine can read it)")


def ops_address(args: argparse.Namespace) -> tuple[str, int]:
    """The checked (host, port) of the ops endpoints."""
    if not 0 <= args.ops_port <= 65535:
        raise RunError(f"--ops-port must be between 0 and 65535, got {args.ops_port}")
    return args.ops_host, args.ops_port


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.http import OpsUnavailable
    from bot.slack.client import SlackUnavailable
    from bot.store.tables import utcnow
    from bot.wiring import build_ops, build_services, run_slack

    address = ops_address(args)
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
    services = build_services(settings, components, ops=build_ops(settings, components))
    try:
        asyncio.run(run_slack(settings, services, port=args.port, clock=utcnow, ops_address=address))
    except SlackUnavailable as exc:
        raise RunError(f"{exc}; check the token and SLACK_API_URL") from None
    except OpsUnavailable as exc:
        raise RunError(str(exc)) from None
    return 0


COMMANDS = {"run": cmd_run}
