"""Posting digests to Slack: the main message, then its overflow replies in the thread."""

from __future__ import annotations

import logging

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.digests.service import PublishError
from bot.records import Digest
from bot.slack.blocks.digest import render
from bot.slack.blocks.links import Links

log = logging.getLogger(__name__)
# Slack errors worth another try; anything else (channel_not_found, not_in_channel, invalid_auth…)
# will not go away by itself. 429s are retried by the client's own rate-limit handler first.
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class SlackPublisher:
    """The digest service's Publisher for Slack: Block Kit from bot.slack.blocks.digest."""

    def __init__(self, client: AsyncWebClient, links: Links, *, lines_per_section: int) -> None:
        self._client, self._links, self._lines = client, links, lines_per_section

    async def publish(self, digest: Digest) -> tuple[str, str | None]:
        (text, blocks), replies = render(digest, self._links, lines_per_section=self._lines)
        try:
            response = await self._client.chat_postMessage(channel=digest.channel, text=text, blocks=blocks,
                                                           unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            status = getattr(exc.response, "status_code", 0) or 0
            raise PublishError(f"Slack refused the digest ({error or status})",
                               transient=error in TRANSIENT or status >= 500) from None
        except (ClientError, OSError, TimeoutError) as exc:  # connection refused or dropped, timeouts
            raise PublishError(f"cannot reach Slack ({type(exc).__name__})", transient=True) from None
        channel, ts = str(response["channel"]), str(response["ts"])
        # The digest is out: a failed reply is reported with the run (`/crm digest list` shows it),
        # never a reason to post the digest again.
        for n, (reply_text, reply_blocks) in enumerate(replies, start=1):
            try:
                await self._client.chat_postMessage(channel=channel, thread_ts=ts, text=reply_text,
                                                    blocks=reply_blocks, unfurl_links=False, unfurl_media=False)
            except (SlackApiError, ClientError, OSError, TimeoutError) as exc:
                reason = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
                log.warning("digest %s: thread reply %d of %d could not be posted (%s)", digest.name, n,
                            len(replies), reason)
                return ts, f"thread reply {n} of {len(replies)} not posted ({reason})"
        return ts, None
