"""Every message the bot sends goes through here: link unfurling off, Slack's errors logged, and
the last gate on content.

Whatever leaves for Slack is guarded by `bot.slack.mrkdwn.guard`: the fallback `text` as well as
every mrkdwn and plain-text object of the blocks or view, every text of a streamed answer's
chunks (markdown text, task titles and outputs), and the native status and suggested prompts,
whoever built them. `GuardedClient`
does it for every chat.* and views.* call of the Web API client the bot is built on (the Poster,
the digest publisher, App Home, modals), and `guarded_respond` for replies through a
response_url, so no caller can send `<!channel>` or a link to a host that is not allowed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.mrkdwn import guard, guard_blocks, scrub_urls
from bot.slack.types import Respond, SlackMessage

log = logging.getLogger(__name__)
# Web API methods that carry text people read; their text, blocks, attachments and view are guarded.
GUARDED_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage",
                   "chat.startStream", "chat.appendStream", "chat.stopStream",
                   "assistant.threads.setStatus", "assistant.threads.setSuggestedPrompts",
                   "views.open", "views.update", "views.push", "views.publish")
# Text fields of streaming chunks: markdown text, a task's title, details and output, a plan's title.
_CHUNK_TEXT = ("text", "title", "details", "output")


def guard_payload(payload: dict[str, Any], allowed_hosts: Iterable[str]) -> dict[str, Any]:
    """A message or view payload with its fallback text, blocks, attachments and view guarded."""
    hosts = tuple(allowed_hosts)
    out = dict(payload)
    for key in ("text", "markdown_text", "status"):
        if isinstance(out.get(key), str):
            out[key] = guard(out[key], hosts)
    if isinstance(out.get("loading_messages"), list):
        out["loading_messages"] = [guard(m, hosts) if isinstance(m, str) else m for m in out["loading_messages"]]
    if isinstance(out.get("prompts"), list):  # plain text a person sends by clicking: links only scrubbed
        out["prompts"] = [{k: scrub_urls(v, hosts) if isinstance(v, str) else v for k, v in p.items()}
                          if isinstance(p, dict) else p for p in out["prompts"]]
    if isinstance(out.get("chunks"), list):
        out["chunks"] = guard_chunks(out["chunks"], hosts)
    elif isinstance(out.get("chunks"), str):  # already JSON-encoded by the caller
        out["chunks"] = json.dumps(guard_chunks(json.loads(out["chunks"]), hosts), ensure_ascii=False)
    for key in ("blocks", "attachments", "view"):
        if isinstance(out.get(key), (list, dict)):
            out[key] = guard_blocks(out[key], hosts)
        elif isinstance(out.get(key), str):  # already JSON-encoded by the caller
            try:
                decoded = json.loads(out[key])
            except ValueError:
                raise ValueError(f"{key} is not valid JSON") from None
            out[key] = json.dumps(guard_blocks(decoded, hosts), ensure_ascii=False)
    return out


def guard_chunks(chunks: list[Any], allowed_hosts: Iterable[str]) -> list[Any]:
    """Streaming chunks (markdown_text, task_update, plan_update, blocks) with every text guarded."""
    hosts = tuple(allowed_hosts)
    out: list[Any] = []
    for chunk in chunks:
        if hasattr(chunk, "to_dict"):  # slack_sdk's chunk objects
            chunk = chunk.to_dict()
        if not isinstance(chunk, dict):
            out.append(chunk)
            continue
        chunk = dict(chunk)
        for key in _CHUNK_TEXT:
            if isinstance(chunk.get(key), str):
                chunk[key] = guard(chunk[key], hosts)
        if isinstance(chunk.get("blocks"), list):
            chunk["blocks"] = guard_blocks(chunk["blocks"], hosts)
        out.append(chunk)
    return out


class GuardedClient(AsyncWebClient):
    """The Web API client whose chat.* and views.* calls are guarded whatever their caller built."""

    def __init__(self, *args: Any, allowed_hosts: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_hosts = tuple(allowed_hosts)

    async def api_call(self, api_method: str, *, json: dict[str, Any] | None = None,  # noqa: A002 - SDK's name
                       params: dict[str, Any] | None = None, data: Any = None, **kwargs: Any) -> Any:
        if api_method in GUARDED_METHODS:
            json = guard_payload(json, self.allowed_hosts) if json is not None else None
            params = guard_payload(params, self.allowed_hosts) if params is not None else None
            data = guard_payload(data, self.allowed_hosts) if isinstance(data, dict) else data
        return await super().api_call(api_method, json=json, params=params, data=data, **kwargs)


def guarded_respond(respond: Respond, allowed_hosts: Iterable[str]) -> Respond:
    """Bolt's respond() with its text and blocks guarded like every other message."""
    hosts = tuple(allowed_hosts)

    async def send(text: str | dict[str, Any] = "", **kwargs: Any) -> Any:
        if isinstance(text, dict):  # a whole message as the first argument, as Bolt allows
            return await respond(guard_payload(text, hosts), **guard_payload(kwargs, hosts))
        return await respond(**guard_payload({"text": text, **kwargs}, hosts))

    send.guarded = True  # type: ignore[attr-defined]
    return send


class Poster:
    """Posts, updates and ephemeral messages, guarded here too (the client may be any client)."""

    def __init__(self, client: AsyncWebClient, allowed_hosts: Iterable[str] = ()) -> None:
        self.client = client
        self.allowed_hosts = tuple(allowed_hosts)

    def _safe(self, message: SlackMessage) -> tuple[str, list[dict[str, Any]]]:
        guarded = guard_payload({"text": message[0], "blocks": message[1]}, self.allowed_hosts)
        return guarded["text"], guarded["blocks"]

    async def dm(self, user: str) -> str:
        """The id of the person's DM with the bot (opened if need be): where what is theirs alone goes."""
        opened = await self.client.conversations_open(users=user)
        return str(opened["channel"]["id"])

    async def post(self, channel: str, message: SlackMessage, *, thread_ts: str | None = None) -> str:
        """Post and return the new message's ts."""
        text, blocks = self._safe(message)
        response = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts,
                                                      unfurl_links=False, unfurl_media=False)
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: SlackMessage) -> bool:
        """Replace a message in place; False (logged) when Slack refuses."""
        text, blocks = self._safe(message)
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not update message %s in %s: %s", ts, channel, exc.response.get("error"))
            return False
        return True

    async def ephemeral(self, channel: str, user: str, message: SlackMessage, *, thread_ts: str | None = None) -> None:
        """A message only user sees; logged when Slack refuses."""
        text, blocks = self._safe(message)
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks,
                                                 thread_ts=thread_ts)
        except SlackApiError as exc:
            log.warning("could not send an ephemeral message in %s: %s", channel, exc.response.get("error"))
