"""Every message the bot sends goes through here: link unfurling off, Slack's errors logged."""

from __future__ import annotations

import logging
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.types import SlackMessage

log = logging.getLogger(__name__)


class Poster:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, channel: str, message: SlackMessage, *, thread_ts: str | None = None) -> str:
        """Post and return the new message's ts."""
        text, blocks = message
        response = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts,
                                                      unfurl_links=False, unfurl_media=False)
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: SlackMessage) -> bool:
        """Replace a message in place; False (logged) when Slack refuses."""
        text, blocks = message
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not update message %s in %s: %s", ts, channel, exc.response.get("error"))
            return False
        return True

    async def ephemeral(self, channel: str, user: str, message: SlackMessage, *, thread_ts: str | None = None) -> None:
        text, blocks = message
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks,
                                                 thread_ts=thread_ts)
        except SlackApiError as exc:
            log.warning("could not send an ephemeral message in %s: %s", channel, exc.response.get("error"))
