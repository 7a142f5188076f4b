"""`python -m bot dev`: try the bot without Slack, in a local workspace in the browser.

One process: the Slack emulator (with its browser page) on a thread of its own, and on the main
thread the very code path of `python -m bot run`, pointed at the emulator in Socket Mode. So the
page talks to the real Bolt app, the real listeners and everything `run` starts beside them, on
the configured database, CRM, knowledge base and model. Ctrl-C stops the bot (running requests
finish first, as in `run`), then the emulator.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import threading
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from adapters.crm.base import CrmAdapter
from bot.cli_run import RunError, add_ops_arguments, cmd_run, ops_address
from bot.config import Settings
from bot.slack.types import SlackMessage
from bot.slack.welcome import Person, demo_tries, welcome_message
from bot.wiring import build_checked

if TYPE_CHECKING:  # the emulator (and its web server) loads only when `dev` runs
    from slack_emulator import EmulatorThread

log = logging.getLogger(__name__)
BOT_USER_ID = "UBOT"
# A message typed while the bot is still starting waits this long for it to connect.
CONNECT_WAIT_SECONDS = 120.0


def add_parsers(sub: Any) -> None:
    dev = sub.add_parser("dev", help="try the bot without Slack: a local workspace in the browser")
    dev.add_argument("--port", type=int, default=3000, help="port of the page and of the local Slack (default 3000)")
    dev.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: only this machine can open the page)")
    add_ops_arguments(dev)


def pointed_at(settings: Settings, emulator: EmulatorThread) -> Settings:
    """The settings with Slack's tokens and URL replaced by the emulator's (Socket Mode)."""
    replaced = settings.secrets.model_copy(update={
        "slack_bot_token": SecretStr(emulator.config.bot_token),
        "slack_app_token": SecretStr(emulator.config.app_token),
        "slack_signing_secret": None,
        "slack_api_url": emulator.api_url,
    })
    return settings.model_copy(update={"secrets": replaced})


def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from slack_emulator import EmulatorThread
    from slack_emulator.demo import DEMO_USERS, demo_channels

    if not 0 <= args.port <= 65535:
        raise RunError(f"--port must be between 0 and 65535, got {args.port}")
    ops_address(args)  # checked before the page is announced
    # An unmigrated database is refused before the page is announced, not after.
    components = build_checked(settings)
    try:
        welcome = _welcome(settings, components.crm)
    finally:
        components.engine.dispose()
    emulator = EmulatorThread(host=args.host, port=args.port, users=DEMO_USERS, channels=demo_channels(BOT_USER_ID),
                              bot_user_id=BOT_USER_ID, bot_name=settings.bot.name, history=[("C0SALES", *welcome)],
                              connect_timeout=CONNECT_WAIT_SECONDS,
                              # Random, unlike the emulator's test defaults: a web site the visitor
                              # opens cannot guess them to call this Web API from their browser.
                              bot_token=f"xoxb-{secrets.token_hex(16)}", app_token=f"xapp-{secrets.token_hex(16)}",
                              signing_secret=secrets.token_hex(16))
    try:
        emulator.start()
    except OSError as exc:
        raise RunError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
                       "pass another --port") from None
    try:
        _introduce(settings, emulator)
        return cmd_run(pointed_at(settings, emulator),
                       argparse.Namespace(port=0, ops_port=args.ops_port, ops_host=args.ops_host))
    finally:
        emulator.stop()


def _welcome(settings: Settings, crm: CrmAdapter) -> SlackMessage:
    """The first thing #sales shows: three tries on records of this CRM, as Bob and Alice."""
    from slack_emulator.demo import DEMO_USERS, bot_handle

    alice, bob = (Person(u.name, u.real_name or u.name, u.email) for u in DEMO_USERS[:2])
    try:
        tries = demo_tries(crm, rep=bob, manager=alice, bot_handle=bot_handle(settings.bot.name))
    except Exception as exc:  # noqa: BLE001 - an unreachable CRM shows in the bot's own start-up; not here
        log.warning("no records for the welcome (%s)", type(exc).__name__)
        tries = []
    return welcome_message(tries, settings.bot.name)


def _introduce(settings: Settings, emulator: EmulatorThread) -> None:
    """Say where the page is and what works, and say again once the bot has connected."""
    from slack_emulator.demo import DEMO_USERS, bot_handle

    url = emulator.url.replace("://0.0.0.0:", "://127.0.0.1:") + "/"
    print(f"Local workspace: open {url}  (Ctrl-C stops it)", flush=True)
    print(f"  people: {', '.join(u.name for u in DEMO_USERS)}; mention the bot as "
          f"@{bot_handle(settings.bot.name)} or type /crm help", flush=True)
    if emulator.config.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"  warning: the page has no login; anyone who can reach {emulator.config.host} can act as any of "
              "these people on this CRM", flush=True)
    if settings.secrets.slack_bot_token:
        print("  SLACK_BOT_TOKEN is set but not used here: `python -m bot run` connects to Slack", flush=True)
    if not settings.secrets.openai_api_key and not settings.secrets.openai_base_url:
        print("  no model configured: /crm find, App Home and approvals work; for answers to questions "
              "set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (any OpenAI-compatible server)", flush=True)

    def when_connected() -> None:
        try:
            emulator.wait_for(lambda e: e.connections(), CONNECT_WAIT_SECONDS, what="the bot to connect")
        except AssertionError:
            print("the bot has not connected yet; see the log above", flush=True)
            return
        print(f"the bot is connected: {url}", flush=True)

    threading.Thread(target=when_connected, name="announce", daemon=True).start()


COMMANDS = {"dev": cmd_dev}
