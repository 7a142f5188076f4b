"""Slack as the source of who people are: users.info for profiles, usergroups.users.list for groups.

A lookup that fails answers "unknown" (None), so the door refuses rather than guesses. Nothing here
is logged beyond the Slack error code: profiles hold names and e-mails.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.people import Profile

log = logging.getLogger(__name__)


def profile_of(user: dict[str, Any]) -> Profile:
    """A users.info `user` object as a Profile."""
    info = user.get("profile") or {}
    name = (info.get("display_name") or info.get("real_name") or user.get("real_name") or user.get("name")
            or user.get("id") or "someone")
    return Profile(
        user_id=str(user.get("id", "")), name=str(name), email=info.get("email") or None, tz=user.get("tz"),
        team_id=user.get("team_id") or info.get("team"),
        guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        stranger=bool(user.get("is_stranger")), bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
        deleted=bool(user.get("deleted")),
    )


class SlackUsers:
    """UserSource over the Web API."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def profile(self, user_id: str) -> Profile | None:
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info failed for %s (%s); treated as unknown", user_id, exc.response.get("error"))
            return None
        except Exception as exc:  # noqa: BLE001 - Slack unreachable: fail closed
            log.warning("users.info failed for %s (%s); treated as unknown", user_id, type(exc).__name__)
            return None
        return profile_of(response.get("user") or {})

    async def group_members(self, handle: str) -> frozenset[str]:
        try:
            groups = (await self._client.usergroups_list()).get("usergroups") or []
            group = next((g for g in groups if g.get("handle") == handle), None)
            if group is None:
                log.warning("Slack user group @%s does not exist; it has no members here", handle)
                return frozenset()
            response = await self._client.usergroups_users_list(usergroup=group["id"])
        except SlackApiError as exc:
            log.warning("cannot read Slack user group @%s (%s)", handle, exc.response.get("error"))
            return frozenset()
        return frozenset(response.get("users") or [])
