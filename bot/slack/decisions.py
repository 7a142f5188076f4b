"""Clicks on proposal cards, turned into calls of the approval service, and cards kept in step.

The approval service does the deciding (policy, atomic claim, exactly-once execution, audit);
this module only fetches what the policy needs from Slack (channel membership), runs the
service off the event loop, tells the clicker what happened and redraws the card from the
database. A card is never redrawn in the transient `executing` state, so a replica that lost
the race cannot paint over the winner's final card.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence

from bot.access.scope import Scope
from bot.access.service import Access, Admitted
from bot.actions.service import Actor, Approvals, Decision
from bot.records import ProposalStatus, ProposalView
from bot.slack.blocks.cards import approve_all_done, approve_all_message, proposal_card
from bot.slack.blocks.links import Links
from bot.slack.blocks.messages import plain
from bot.slack.ids import thread_of
from bot.slack.members import Members
from bot.slack.mrkdwn import escape
from bot.slack.poster import Poster
from bot.slack.types import Respond

log = logging.getLogger(__name__)
_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,31})&gt;")


class CardDecisions:
    """Decides on a clicked proposal through the approval service and keeps its card in step."""

    def __init__(self, approvals: Approvals, poster: Poster, members: Members, links: Links, access: Access) -> None:
        self.approvals, self._poster, self._members, self._links = approvals, poster, members, links
        self._access = access

    async def actor(self, user: str) -> Actor:
        """The person deciding, as the approval policy needs them (groups, CRM owner, what they see).
        Someone the door refuses sees no record, so may decide on nothing."""
        admitted = await self._access.admit(user)
        if not isinstance(admitted, Admitted):
            return Actor(scope=Scope(frozenset(), unowned=False))
        person = admitted.person
        return Actor(person.groups, person.owner.id if person.owner else None, admitted.scope)

    async def _owner_name(self) -> Callable[[str], str]:
        """CRM owner id -> name (the id itself when the CRM does not know it), for the cards."""
        names = await self._access.people.owner_names()
        return lambda owner_id: names.get(owner_id, owner_id)

    async def part_of(self, proposal: ProposalView, user: str) -> bool:
        """Is the person part of the conversation the proposal was made in (membership read now)?
        A proposal from a DM or the terminal belongs to its requester alone."""
        if user == proposal.requester:
            return True
        if not proposal.channel or proposal.channel.startswith("D"):
            return False
        return user in await self._members.of(proposal.channel)

    async def awaiting(self, user: str) -> list[ProposalView]:
        """Pending proposals this person may decide on, from conversations they are part of."""
        pending = await asyncio.to_thread(self.approvals.pending)
        mine = [p for p in pending if await self.part_of(p, user)]
        checker = await self._members.checker_for({p.channel for p in mine if p.channel})
        actor = await self.actor(user)
        allowed = await asyncio.to_thread(self.approvals.actionable_by, user, checker, actor)
        ids = {p.id for p in mine}
        return [p for p in allowed if p.id in ids]

    async def edit(self, proposal: ProposalView, user: str, changes: dict[str, str]) -> Decision:
        """An Edit submission: only the fields the form offered, never the record it targets."""
        offered = {name for name, _ in editable_fields(self.approvals, proposal)}
        extra = sorted(set(changes) - offered)
        if extra:
            return Decision("invalid", f"this form has no field {extra[0]}", proposal)
        if not await self.part_of(proposal, user):
            return Decision("refused", "only people in the conversation where it was proposed can edit it", proposal)
        checker = await self._members.checker(proposal.channel)
        return await asyncio.to_thread(self.approvals.edit, proposal.id, user=user, changes=changes,
                                       channel_members=checker, actor=await self.actor(user))

    async def _refuse_outsider(self, proposal: ProposalView | None, user: str) -> Decision | None:
        if proposal is None or await self.part_of(proposal, user):
            return None
        await asyncio.to_thread(self.approvals.audit.record, "approval.refused", actor=user, proposal_id=proposal.id,
                                data={"refused": "not part of the conversation"})
        return Decision("refused", "only people in the conversation where it was proposed can decide on it",
                        proposal)

    async def post_cards(self, channel: str, thread_ts: str | None, proposals: Sequence[ProposalView]) -> None:
        """A card per proposal in the thread, plus one "Approve all" when several qualify."""
        for proposal in proposals:
            card = proposal_card(proposal, self._links, owner_name=await self._owner_name())
            ts = await self._poster.post(channel, card, thread_ts=thread_ts)
            await asyncio.to_thread(self.approvals.card_posted, proposal.id, channel=channel, message_ts=ts)
        together = approve_all_message(proposals)
        if together:
            await self._poster.post(channel, together, thread_ts=thread_ts)

    async def approve(self, proposal_id: str, user: str, respond: Respond | None = None, *,
                      tell_clicker: bool = True) -> Decision:
        """Approve (or retry a transient failure); the clicker hears back only when nothing visible changed."""
        try:
            proposal = await asyncio.to_thread(self.approvals.get, proposal_id)
            decision = await self._refuse_outsider(proposal, user)
            if decision is None:
                checker = await self._members.checker(proposal.channel if proposal else None)
                decision = await asyncio.to_thread(self.approvals.approve, proposal_id, user=user,
                                                   channel_members=checker, actor=await self.actor(user))
        except Exception:
            # The database (or the CRM) did not answer: a click lost silently would leave the person
            # waiting for a change that never comes. The card still shows where the proposal stands.
            log.exception("approving proposal %s failed", proposal_id)
            if tell_clicker and respond is not None:
                await respond(replace_original=False, response_type="ephemeral", text=CLICK_AGAIN)
            return Decision("failed", "could not be completed (the database did not answer); try again")
        await self._after(decision, user, respond, tell_clicker=tell_clicker)
        return decision

    async def reject(self, proposal_id: str, user: str, reason: str | None, respond: Respond | None = None) -> Decision:
        proposal = await asyncio.to_thread(self.approvals.get, proposal_id)
        decision = await self._refuse_outsider(proposal, user)
        if decision is None:
            checker = await self._members.checker(proposal.channel if proposal else None)
            decision = await asyncio.to_thread(self.approvals.reject, proposal_id, user=user, reason=reason,
                                               channel_members=checker, actor=await self.actor(user))
        await self._after(decision, user, respond)
        return decision

    async def after_edit(self, old: ProposalView, decision: Decision, user: str) -> None:
        """The old card retires its buttons; the new version's card goes into the same thread."""
        await self.refresh(old.id)
        new = decision.proposal
        if decision.outcome != "edited" or new is None or not old.channel:
            return
        if old.message_ts:
            thread = thread_of(old.conversation_id)
            await self.post_cards(old.channel, thread[1] if thread else None, [new])
        else:  # the old card was ephemeral (/crm): so is the new one
            await self._poster.ephemeral(old.channel, user,
                                         proposal_card(new, self._links, owner_name=await self._owner_name()))

    async def approve_all(self, proposal_ids: Sequence[str], user: str, respond: Respond | None = None) -> list[str]:
        """Each proposal still goes through the policy and the claim on its own."""
        lines = []
        for proposal_id in proposal_ids:
            decision = await self.approve(proposal_id, user, tell_clicker=False)  # one summary instead
            lines.append(f"• `{proposal_id}`: {_said(decision.message)}")
        if respond is not None:
            summary, blocks = approve_all_done(lines)
            await respond(replace_original=False, response_type="ephemeral", text=summary, blocks=blocks)
        return lines

    async def refresh(self, proposal_id: str, respond: Respond | None = None) -> None:
        """Redraw the card from the database (skipped while executing: the executor will redraw it)."""
        proposal = await asyncio.to_thread(self.approvals.get, proposal_id)
        if proposal is None or proposal.status == ProposalStatus.EXECUTING:
            return
        text, blocks = proposal_card(proposal, self._links, owner_name=await self._owner_name())
        if proposal.channel and proposal.message_ts:
            await self._poster.update(proposal.channel, proposal.message_ts, (text, blocks))
        elif respond is not None:  # an ephemeral card (from /crm): only its response_url can replace it
            await respond(replace_original=True, text=text, blocks=blocks)

    async def _after(self, decision: Decision, user: str, respond: Respond | None, *, tell_clicker: bool = True) -> None:
        if decision.proposal is not None and decision.outcome != "refused":
            await self.refresh(decision.proposal.id, respond)
        if not tell_clicker or decision.outcome not in ("refused", "already_decided", "not_found", "invalid"):
            return
        if respond is not None:
            await respond(replace_original=False, response_type="ephemeral", text=_for_clicker(decision))
        elif decision.proposal is not None and decision.proposal.channel:
            await self._poster.ephemeral(decision.proposal.channel, user, plain(_for_clicker(decision)))


CLICK_AGAIN = ("Your approval could not be completed: the bot's database did not answer. The card shows where the "
               "proposal stands; if it can still be approved, click Approve again in a minute.")


def editable_fields(approvals: Approvals, proposal: ProposalView) -> list[tuple[str, str]]:
    """(name, hint) of the arguments an edit may change: all but the id of the record being updated."""
    args = approvals.argument_model(proposal.tool)
    if args is None:
        return []
    fixed = f"{proposal.record_kind}_id" if proposal.record_id is not None else None
    return [(name, info.description or "") for name, info in args.model_fields.items() if name != fixed]


def _for_clicker(decision: Decision) -> str:
    icon = {"refused": "🚫", "already_decided": "ℹ️", "not_found": "❓", "invalid": "⚠️"}.get(decision.outcome, "")
    return f"{icon} {_said(decision.message)}".strip()


def _said(message: str) -> str:
    """A decision's message as mrkdwn: escaped, except the user mentions it names people with, so
    Slack shows their names."""
    return _MENTION.sub(r"<@\1>", escape(message))
