"""Telling people what became of proposals: the requester of every end state, the clicker of their
click's result where they clicked, and the "Approve all" message of its proposals' fate.

The requester hears each end state once, whichever replica redraws the card first (a conditional
update claims it), in the thread where they asked; by DM when the card has no thread to answer in
(an ephemeral /crm card, the terminal). Nobody is told of a decision they made themselves on the card.
A click's answer goes where the click happened: ephemeral in the card's thread (not the channel
pane), the response_url of an ephemeral card, or a DM for a click on the App Home.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.actions.service import Approvals
from bot.records import ProposalView
from bot.slack.blocks.describe import Facts
from bot.slack.blocks.links import Links
from bot.slack.blocks.outcomes import TOLD, group_message, outcome_message
from bot.slack.ids import thread_of
from bot.slack.poster import Poster
from bot.slack.types import Respond, SlackMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    """Where a click happened: a card in a channel (and thread), an ephemeral card, or the App Home."""

    channel: str | None = None
    thread_ts: str | None = None
    home: bool = False
    ephemeral: bool = False


def place_of(body: dict) -> Place:  # type: ignore[type-arg]
    """The Place of a block_actions payload."""
    container = body.get("container") or {}
    if container.get("type") == "view":
        return Place(home=True)
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return Place(channel, message.get("thread_ts") or container.get("thread_ts"),
                 ephemeral=bool(container.get("is_ephemeral")))


class Notices:
    """Posts outcome messages and keeps "Approve all" messages in step with their proposals."""

    def __init__(self, approvals: Approvals, poster: Poster, links: Links,
                 facts: Callable[[ProposalView], Awaitable[Facts]] | None = None) -> None:
        self._approvals, self._poster, self._links = approvals, poster, links
        self._facts = facts  # the names a card shows, so the requester reads the card's own title

    async def tell_requester(self, proposal: ProposalView) -> None:
        """The requester hears of an end state once (not of a decision they made themselves)."""
        if proposal.status not in TOLD or (proposal.decided_by and proposal.decided_by == proposal.requester):
            return
        if not await asyncio.to_thread(self._approvals.mark_told, proposal):
            return  # told already, by this or another replica
        message = outcome_message(proposal, self._links, await self._facts(proposal) if self._facts else None)
        channel, thread = self._thread(proposal)
        try:
            if channel is None:
                await self.direct(proposal.requester, message)
            else:
                await self._poster.post(channel, message, thread_ts=thread)
        except SlackApiError as exc:  # the card still shows the outcome
            log.warning("could not tell %s of proposal %s: %s", proposal.requester, proposal.id,
                        exc.response.get("error"))

    @staticmethod
    def _thread(proposal: ProposalView) -> tuple[str | None, str | None]:
        """The thread the card is in (its own replies when it is a channel message), or (None, None)
        for a card that has no thread: an ephemeral one, or none at all."""
        if not proposal.channel or not proposal.message_ts:
            return None, None
        asked = thread_of(proposal.conversation_id)
        if proposal.thread_ts:
            return proposal.channel, proposal.thread_ts
        if asked and asked[0] == proposal.channel:
            return proposal.channel, asked[1]
        return proposal.channel, proposal.message_ts

    async def direct(self, user: str, message: SlackMessage) -> None:
        """A message in the person's DM with the bot."""
        await self._poster.post(await self._poster.dm(user), message)

    async def answer_click(self, user: str, message: SlackMessage, place: Place | None, respond: Respond | None,
                           proposal: ProposalView | None = None) -> None:
        """Only the clicker sees it, where they clicked."""
        try:
            if place is not None and place.home:
                await self.direct(user, message)
            elif place is not None and place.channel and not place.ephemeral:
                await self._poster.ephemeral(place.channel, user, message, thread_ts=place.thread_ts)
            elif respond is not None:
                await respond(replace_original=False, response_type="ephemeral", text=message[0], blocks=message[1])
            elif proposal is not None and proposal.channel:
                await self._poster.ephemeral(proposal.channel, user, message, thread_ts=self._thread(proposal)[1])
        except SlackApiError as exc:
            log.warning("could not answer %s's click: %s", user, exc.response.get("error"))

    async def post_group(self, channel: str, thread_ts: str | None, proposals: list[ProposalView]) -> None:
        """The "Approve all" message for the low and medium risk proposals of one answer, if two or more."""
        eligible = [p for p in proposals if p.risk in ("low", "medium")]
        message = group_message(eligible)
        if message is None:
            return
        ts = await self._poster.post(channel, message, thread_ts=thread_ts)
        await asyncio.to_thread(self._approvals.grouped, [p.id for p in eligible], group_ts=ts)

    async def regroup(self, proposal: ProposalView) -> None:
        """Redraw the "Approve all" message covering this proposal from its proposals' states."""
        if not proposal.group_ts or not proposal.channel:
            return
        members = await asyncio.to_thread(self._approvals.related, group_ts=proposal.group_ts)
        # In the order of their cards in the thread.
        shown = sorted((p for p in members if p.channel == proposal.channel),
                       key=lambda p: (float(p.message_ts or "inf"), p.created_at))
        message = group_message(shown)
        if message is not None:
            await self._poster.update(proposal.channel, proposal.group_ts, message)
