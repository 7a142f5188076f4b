"""`python -m bot access check USER`: a person's role, groups, CRM owner and what they may see and do."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.config import Settings


def add_parsers(sub: Any) -> None:
    access = sub.add_parser("access", help="who may do what: `access check USER`")
    verbs = access.add_subparsers(dest="access_command", required=True, metavar="VERB")
    check = verbs.add_parser("check", help="print a person's role, groups, CRM owner and rights")
    check.add_argument("user", help="Slack user id, e.g. U0123ABCD")


def cmd_access(settings: Settings, args: argparse.Namespace) -> int:
    from bot.access.service import Admitted
    from bot.wiring import build_access, build_checked

    components = build_checked(settings)
    access = build_access(settings, components.crm, slack_users(settings))
    result = asyncio.run(access.admit(args.user))
    print(f"user: {args.user}")
    if not isinstance(result, Admitted):
        print(f"refused at the door: {result.reason}")
        return 1
    person, grant, scope = result.person, result.grant, result.scope
    owner = person.owner
    print(f"name: {person.name}")
    print(f"groups: {', '.join(sorted(person.groups)) or 'none'}")
    print(f"CRM owner: {f'{owner.name} ({owner.id})' if owner else _no_owner(settings, person.profile.email)}")
    print(f"role: {grant.role}")
    sees = {"all": "every record", "own": "records they own",
            "team": "records owned by anyone in their groups"}[grant.see]
    owners = "" if scope.owners is None else f" (owners: {', '.join(sorted(scope.owners)) or 'none'})"
    print(f"sees: {sees}{owners}; records without an owner: {'yes' if scope.unowned else 'no'}")
    print(f"may: ask questions{''.join(', ' + right for right in grant.rights())}")
    return 0


def _no_owner(settings: Settings, email: str | None) -> str:
    if email:
        return f"none (no CRM owner has the e-mail {email})"
    if settings.secrets.slack_bot_token is None:
        return "unknown (no e-mail in [people.emails]; or set SLACK_BOT_TOKEN to ask Slack)"
    return "none (Slack shows no e-mail: add the users:read.email scope)"


def slack_users(settings: Settings) -> Any:
    """Slack as the source of who people are when SLACK_BOT_TOKEN is set; else None ([people.emails])."""
    if settings.secrets.slack_bot_token is None:
        return None
    from bot.slack.people import SlackUsers
    from bot.wiring import slack_client

    return SlackUsers(slack_client(settings))


COMMANDS = {"access": cmd_access}
