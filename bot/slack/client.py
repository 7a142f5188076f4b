"""The Slack Web API client the bot posts with, and the bot's own user id in the workspace.

Every call retries a 429 after Retry-After, a 5xx answer twice with exponential backoff and a
dropped connection once (slack_sdk's own retry handlers); what still fails is the caller's to keep
(see bot.slack.kept). `identify` asks
Slack who the token belongs to before anything is built on it, so a wrong token or an
unreachable SLACK_API_URL ends start-up with one line instead of failing on the first event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.poster import GuardedClient

DEFAULT_API_URL = "https://slack.com/api/"


class SlackUnavailable(Exception):
    """Slack (or what SLACK_API_URL points at) refused the token or could not be reached."""


def web_client(token: str, base_url: str | None, allowed_hosts: Iterable[str] = ()) -> AsyncWebClient:
    """The Web API client: 429s retried after Retry-After, 5xx twice, dropped connections once, and
    every message and view guarded (links only to allowed_hosts; see bot.slack.poster)."""
    return GuardedClient(token=token, base_url=base_url or DEFAULT_API_URL, allowed_hosts=allowed_hosts,
                         retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1),
                                         AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                                         AsyncServerErrorRetryHandler(max_retry_count=2)])


@dataclass(frozen=True)
class Identity:
    """Who the bot is: its user id, and the workspace it is installed in (the door's home team)."""

    user_id: str
    team_id: str


async def identify(client: AsyncWebClient) -> Identity:
    """The bot's identity (auth.test); SlackUnavailable when the token is refused or Slack is unreachable."""
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        raise SlackUnavailable(f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error')})") from None
    except Exception as exc:  # noqa: BLE001 - network errors of every kind end the same way
        raise SlackUnavailable(f"cannot reach Slack at {client.base_url} ({type(exc).__name__})") from None
    return Identity(str(identity["user_id"]), str(identity.get("team_id") or ""))
