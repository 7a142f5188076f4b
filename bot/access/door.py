"""The door: who may use the bot at all, checked before anything else runs (no model call, no CRM read).

Only people of the workspace the bot is installed in (plus `[access].allowed_teams`) come in;
bots and deactivated accounts never; guests only with `[access].guests`; Slack Connect strangers,
people of other workspaces and externally shared channels only with `[access].shared_channels`.
A user Slack cannot tell us about is refused: the door fails closed.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.access.people import Person
from bot.access.settings import AccessSection

REFUSAL = ("Sorry, I can only help members of this workspace, in its own channels. "
           "Ask a workspace admin if you think you should have access.")


def refusal(person: Person | None, access: AccessSection, *, home_teams: Collection[str],
            user_team: str | None = None, channel_shared: bool = False) -> str | None:
    """Why this person may not come in (a short reason for the audit log), or None when they may.

    home_teams: the workspace the bot is installed in and the allowed teams; empty means no team
    check (the terminal). user_team: the team Slack says the event's user belongs to, if it says so.
    """
    if person is None:
        return "unknown user"
    profile = person.profile
    if profile.bot:
        return "bot"
    if profile.deleted:
        return "deactivated user"
    if channel_shared and not access.shared_channels:
        return "externally shared channel"
    if profile.stranger and not access.shared_channels:
        return "Slack Connect user"
    teams = {t for t in (profile.team_id, user_team) if t}
    if home_teams and teams - set(home_teams) and not access.shared_channels:
        return "user of another workspace"
    if profile.guest and not access.guests:
        return "guest"
    return None
