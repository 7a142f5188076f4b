"""Clicks on proposal cards, turned into calls of the approval service, and cards kept in step.

The approval service does the deciding (policy, atomic claim, exactly-once execution, audit);
this module only fetches what the policy needs from Slack (channel membership), runs the
service off the event loop, tells the clicker what happened and redraws the card from the
database. A card is never redrawn in the transient `executing` state, so a replica that lost
the race cannot paint over the winner's final card. Each redraw of a decided card also tells its
requester the outcome (once) and updates the "Approve all" message covering it (bot.slack.notices);
"Propose again" and "Revert" post the new proposal's card in the old card's thread.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.json_schema import SkipJsonSchema

from adapters.crm.base import CrmAdapter, CrmError, Deal, DealFilter, Record
from bot.access.scope import Scope
from bot.access.scoped_crm import ScopedCrm
from bot.actions.operations import json_value
from bot.formats import money
from bot.access.service import Access, Admitted
from bot.actions.service import Actor, Approvals, Decision
from bot.actions.followups import revert_until
from bot.records import PlanError, ProposalStatus, ProposalView
from bot.slack.blocks.cards import proposal_card
from bot.slack.blocks.describe import LONG, REFS, Facts
from bot.slack.blocks.describe import choice as describe_choice
from bot.slack.blocks.edit_form import CURRENCIES, FormField
from bot.slack.blocks.links import Links
from bot.slack.blocks.messages import plain
from bot.slack.blocks.outcomes import followup_blocks, group_done, name
from bot.slack.ids import thread_of
from bot.slack.members import Members
from bot.slack.mrkdwn import escape
from bot.slack.notices import Notices, Place
from bot.slack.poster import Poster
from bot.slack.types import Respond, SlackMessage

log = logging.getLogger(__name__)
_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,31})&gt;")


class CardDecisions:
    """Decides on a clicked proposal through the approval service and keeps its card in step."""

    def __init__(self, approvals: Approvals, poster: Poster, members: Members, links: Links, access: Access, *,
                 crm: CrmAdapter | None = None, timezone: str = "UTC", bot_user_id: str = "") -> None:
        self.approvals, self._poster, self._members, self._links = approvals, poster, members, links
        self._access, self._crm, self._timezone, self._bot = access, crm, timezone, bot_user_id
        self.notices = Notices(approvals, poster, links, facts=self.facts)

    async def actor(self, user: str) -> Actor:
        """The person deciding, as the approval policy needs them (groups, CRM owner, what they see).
        Someone the door refuses sees no record, so may decide on nothing."""
        admitted = await self._access.admit(user)
        if not isinstance(admitted, Admitted):
            return Actor(scope=Scope(frozenset(), unowned=False))
        person = admitted.person
        return Actor(person.groups, person.owner.id if person.owner else None, admitted.scope)

    async def facts(self, proposal: ProposalView) -> Facts:
        """What the proposal's card says besides the proposal: the names of its records and owners,
        its deal's currency, who may approve it, and the version it replaced (for an edit)."""
        replaced = (await asyncio.to_thread(self.approvals.get, proposal.supersedes_id)
                    if proposal.supersedes_id else None)
        current = await asyncio.to_thread(self._current, proposal)
        records, currencies = await asyncio.to_thread(self._names, [proposal, *([replaced] if replaced else [])],
                                                      current)
        return Facts(self._links, await self._access.people.owner_names(), records, currencies,
                     self.approvals.approval_rule(proposal.risk), replaced, self._timezone, current)

    def _current(self, proposal: ProposalView) -> dict[str, Any]:
        """The fields of the record an update changes, as they are now (the Edit form's hints)."""
        if self._crm is None or proposal.record_id is None or not proposal.tool.startswith("update_"):
            return {}
        try:
            record = self._crm.get(proposal.record_kind, proposal.record_id)  # type: ignore[arg-type]
        except CrmError:
            return {}
        return {f.name: json_value(getattr(record, f.name)) for f in fields(record)} if record is not None else {}

    async def card(self, proposal: ProposalView) -> SlackMessage:
        """The proposal's card as it stands, with everything it names read now, and its follow-ups
        (Propose again on a stale one, Revert on an executed update while it may be reverted)."""
        followups = followup_blocks(proposal, now=self.approvals.now(),
                                    revert_until=revert_until(proposal, self.approvals.undo))
        return proposal_card(proposal, self._links, facts=await self.facts(proposal), followups=followups)

    def _names(self, proposals: Sequence[ProposalView], current: dict[str, Any] | None = None,
               ) -> tuple[dict[tuple[str, int], str], dict[int, str]]:
        """(kind, id) -> name of every record the proposals (and the updated record now) refer to,
        and deal id -> currency."""
        names: dict[tuple[str, int], str] = {}
        currencies: dict[int, str] = {}
        for kind, record_id in sorted(_named(proposals, current))[:20] if self._crm is not None else ():
            try:
                record = self._crm.get(kind, record_id)  # type: ignore[arg-type, union-attr]
            except CrmError:
                continue  # the card then describes the record instead of naming it
            if record is not None:
                names[(kind, record_id)] = record_label(record)
                if isinstance(record, Deal):
                    currencies[record_id] = record.currency
        return names, currencies

    async def _everyone_here_may_read(self, channel: str, proposal: ProposalView) -> bool:
        """May every member of the channel read each record the proposal's card names? (A DM has
        one reader; an unknown membership counts as "not everyone".)"""
        if self._crm is None or channel.startswith("D"):
            return True
        owners = await asyncio.to_thread(self._owners_named, proposal)
        if not owners:
            return True
        members = await self._members.of(channel) - {self._bot}  # the bot is not a reader
        return bool(members) and await self._access.everyone_sees(members, owners)

    def _owners_named(self, proposal: ProposalView) -> set[str | None]:
        """The effective owners of the records a proposal's card names."""
        assert self._crm is not None
        everything = ScopedCrm(self._crm, Scope.everything())
        owners: set[str | None] = set()
        for kind, record_id in sorted(_named([proposal], self._current(proposal)))[:20]:
            try:
                record = self._crm.get(kind, record_id)  # type: ignore[arg-type]
            except CrmError:
                owners.add("?")  # unknown: not everyone may be assumed to see it
                continue
            if record is not None:
                owners.add(everything.owner_of(record))
        return owners

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

    async def edit(self, proposal: ProposalView, user: str, changes: dict[str, Any]) -> Decision:
        """An Edit submission: only the fields the form offered, never the record it targets, and
        planned through what the editor may see (a record they may not see is "not there")."""
        offered = {f.name for f in editable_fields(self.approvals, proposal)}
        extra = sorted(set(changes) - offered)
        if extra:
            return Decision("invalid", f"this form has no field {extra[0]}", proposal)
        if not await self.part_of(proposal, user):
            return Decision("refused", "only people in the conversation where it was proposed can edit it", proposal)
        checker = await self._members.checker(proposal.channel)
        actor = await self.actor(user)
        reader = ScopedCrm(self._crm, actor.scope) if self._crm is not None and actor.scope is not None else None
        return await asyncio.to_thread(self.approvals.edit, proposal.id, user=user, changes=changes,
                                       channel_members=checker, actor=actor, reader=reader)

    async def owner_for(self, slack_user: str) -> tuple[str | None, str]:
        """(the CRM owner id of a person picked as an owner, or None and why they cannot be one)."""
        person = await self._access.people.get(slack_user)
        if person is None:
            return None, "That person is not a member of this workspace; choose someone who is."
        if person.owner is None:
            return None, (f"{person.name} has no CRM user (none with their e-mail), so cannot own records; "
                          "choose someone who has one.")
        return person.owner.id, ""

    async def record_options(self, user: str, kind: str, query: str, limit: int = 20) -> list[tuple[int, str]]:
        """(id, label) of the records of a kind matching `query` that this person may see, for an
        Edit form's record search; nothing for someone the door refuses."""
        admitted = await self._access.admit(user)
        if not isinstance(admitted, Admitted) or self._crm is None or not query.strip():
            return []
        reader = ScopedCrm(self._crm, admitted.scope)
        return await asyncio.to_thread(_search, reader, kind, query.strip(), limit)

    async def _refuse_outsider(self, proposal: ProposalView | None, user: str) -> Decision | None:
        if proposal is None or await self.part_of(proposal, user):
            return None
        await asyncio.to_thread(self.approvals.audit.record, "approval.refused", actor=user, proposal_id=proposal.id,
                                data={"refused": "not part of the conversation"})
        # Without the proposal: its summary names a record, which an outsider is not shown.
        return Decision("refused", "only people in the conversation where it was proposed can decide on it")

    async def post_cards(self, channel: str, thread_ts: str | None, proposals: Sequence[ProposalView]) -> None:
        """A card per proposal in the thread, plus one "Approve all" when several qualify."""
        for proposal in proposals:
            card = await self.card(proposal)
            ts = await self._poster.post(channel, card, thread_ts=thread_ts)
            await asyncio.to_thread(self.approvals.card_posted, proposal.id, channel=channel, message_ts=ts,
                                    thread_ts=thread_ts)
        await self.notices.post_group(channel, thread_ts, list(proposals))

    async def approve(self, proposal_id: str, user: str, respond: Respond | None = None, *,
                      tell_clicker: bool = True, place: Place | None = None) -> Decision:
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
        await self._after(decision, user, respond, tell_clicker=tell_clicker, place=place)
        return decision

    async def reject(self, proposal_id: str, user: str, reason: str | None, respond: Respond | None = None,
                     place: Place | None = None) -> Decision:
        proposal = await asyncio.to_thread(self.approvals.get, proposal_id)
        decision = await self._refuse_outsider(proposal, user)
        if decision is None:
            checker = await self._members.checker(proposal.channel if proposal else None)
            decision = await asyncio.to_thread(self.approvals.reject, proposal_id, user=user, reason=reason,
                                               channel_members=checker, actor=await self.actor(user))
        await self._after(decision, user, respond, place=place)
        return decision

    async def after_edit(self, old: ProposalView, decision: Decision, user: str) -> None:
        """The old card retires its buttons; the new version's card goes into the same thread."""
        await self.refresh(old.id)
        new = decision.proposal
        if decision.outcome != "edited" or new is None or not old.channel:
            return
        # An edit may link the proposal to a record some members of the channel may not see: then
        # the new card is shown to the editor alone, as a /crm card is (approvers find it in their
        # App Home and `/crm pending`, which list only what they may see).
        if old.message_ts and await self._everyone_here_may_read(old.channel, new):
            thread = thread_of(old.conversation_id)
            await self.post_cards(old.channel, thread[1] if thread else None, [new])
        else:  # the old card was ephemeral (/crm), or the new one names what not everyone here may see
            await self._poster.ephemeral(old.channel, user, await self.card(new))

    async def approve_all(self, proposal_ids: Sequence[str], user: str, respond: Respond | None = None,
                          place: Place | None = None) -> list[str]:
        """Each proposal still goes through the policy and the claim on its own; the clicker gets one
        summary naming each proposal, where they clicked."""
        outcomes = []
        for proposal_id in proposal_ids:
            decision = await self.approve(proposal_id, user, tell_clicker=False)  # one summary instead
            outcomes.append((decision.proposal, _said(decision.message)))
        await self.notices.answer_click(user, group_done(outcomes), place, respond)
        return [f"{name(p) if p else '?'}: {said}" for p, said in outcomes]

    async def follow_up(self, verb: str, proposal_id: str, user: str, respond: Respond | None = None,
                        place: Place | None = None) -> ProposalView | None:
        """"Propose again" (verb "again", on a stale proposal) or "Revert" (verb "revert", on an executed
        update): a new proposal through the same approval path, its card posted under the old one.
        The clicker is told why not when it cannot be made."""
        proposal = await asyncio.to_thread(self.approvals.get, proposal_id)
        refused = await self._refuse_outsider(proposal, user)
        if proposal is None or refused is not None:
            message = refused.message if refused else "this proposal no longer exists"
            await self.notices.answer_click(user, plain(f"🚫 {escape(message)}"), place, respond)
            return None
        method = self.approvals.propose_again if verb == "again" else self.approvals.propose_revert
        try:
            new = await asyncio.to_thread(method, proposal_id, user=user, actor=await self.actor(user),
                                          channel_members=await self._members.checker(proposal.channel))
        except (PlanError, CrmError) as exc:
            await self.notices.answer_click(user, plain(f"⚠️ {escape(str(exc))}"), place, respond)
            await self.refresh(proposal_id, respond)
            return None
        await self._post_next(proposal, new, user, place)
        return new

    async def _post_next(self, old: ProposalView, new: ProposalView, user: str, place: Place | None) -> None:
        """The new proposal's card goes where the old one is (its thread), else to the clicker's DM;
        to the clicker alone when someone now in the channel may not see a record it names."""
        if old.channel and old.message_ts and not await self._everyone_here_may_read(old.channel, new):
            await self._poster.ephemeral(old.channel, user, await self.card(new))
            return
        if old.channel and old.message_ts:
            thread = old.thread_ts or (thread_of(old.conversation_id) or (None, None))[1] or old.message_ts
            await self.post_cards(old.channel, thread, [new])
            return
        await self.post_cards(await self._poster.dm(user), None, [new])

    async def refresh(self, proposal_id: str, respond: Respond | None = None) -> None:
        """Redraw the card from the database (skipped while executing: the executor will redraw it)."""
        proposal = await asyncio.to_thread(self.approvals.get, proposal_id)
        if proposal is None or proposal.status == ProposalStatus.EXECUTING:
            return
        text, blocks = await self.card(proposal)
        if proposal.channel and proposal.message_ts:
            await self._poster.update(proposal.channel, proposal.message_ts, (text, blocks))
        elif respond is not None:  # an ephemeral card (from /crm): only its response_url can replace it
            await respond(replace_original=True, text=text, blocks=blocks)
        await self.notices.tell_requester(proposal)
        await self.notices.regroup(proposal)

    async def _after(self, decision: Decision, user: str, respond: Respond | None, *, tell_clicker: bool = True,
                     place: Place | None = None) -> None:
        if decision.proposal is not None and decision.outcome != "refused":
            await self.refresh(decision.proposal.id, None if place is not None and place.home else respond)
        # A click on the App Home leaves no card to look at: its clicker hears every result.
        answered = ("refused", "already_decided", "not_found", "invalid")
        if not tell_clicker or (decision.outcome not in answered and not (place is not None and place.home)):
            return
        await self.notices.answer_click(user, plain(_for_clicker(decision)), place, respond, decision.proposal)


CLICK_AGAIN = ("Your approval could not be completed: the bot's database did not answer. The card shows where the "
               "proposal stands; if it can still be approved, click Approve again in a minute.")


def editable_fields(approvals: Approvals, proposal: ProposalView) -> list[FormField]:
    """The arguments an edit may change (all but the id of the record being updated), each with the
    input its type calls for."""
    args = approvals.argument_model(proposal.tool)
    if args is None:
        return []
    fixed = f"{proposal.record_kind}_id" if proposal.record_id is not None else None
    # Fields the plan fills in itself (hidden from the model: an activity's owner) are not edited either.
    return [_form_field(name, info.annotation) for name, info in args.model_fields.items()
            if name != fixed and not any(isinstance(m, SkipJsonSchema) for m in info.metadata)]


def _form_field(name: str, annotation: Any) -> FormField:
    kinds = [a for a in get_args(annotation) if a is not type(None)] if get_origin(annotation) in (
        Union, UnionType) else [annotation]
    base = kinds[0] if kinds else annotation
    if get_origin(base) is Literal:
        return FormField(name, "choice", tuple(str(v) for v in get_args(base)))
    special: dict[str, FormField] = {"currency": FormField(name, "currency", CURRENCIES),
                                     "owner": FormField(name, "user"), "to": FormField(name, "email"),
                                     "email": FormField(name, "email")}
    if name in special:
        return special[name]
    if name in REFS:
        return FormField(name, "record")
    for python_type, kind in ((datetime, "datetime"), (date, "date"), (Decimal, "amount"), (int, "number")):
        if base is python_type:
            return FormField(name, kind)  # type: ignore[arg-type]
    return FormField(name, "long" if name in LONG else "text")


def _named(proposals: Sequence[ProposalView], current: dict[str, Any] | None = None) -> set[tuple[str, int]]:
    """(kind, id) of every record the proposals (and the updated record now) refer to."""
    wanted: set[tuple[str, int]] = {(kind, v) for k, kind in REFS.items()
                                    if isinstance(v := (current or {}).get(k), int)}
    for p in proposals:
        if p.record_kind and p.record_id is not None:
            wanted.add((p.record_kind, p.record_id))
        made_kind, _, made_id = str((p.result or {}).get("record") or "").partition(":")
        if made_id.isdigit():  # what an executed create made
            wanted.add((made_kind, int(made_id)))
        values = [(k, p.args.get(k)) for k in REFS] + [(d.get("field"), d.get(side)) for d in p.diff
                                                     for side in ("before", "after")]
        wanted.update((REFS[k], int(v)) for k, v in values if k in REFS and isinstance(v, (int, str))
                      and str(v).isdigit())
    return wanted


def _search(reader: ScopedCrm, kind: str, query: str, limit: int) -> list[tuple[int, str]]:
    """Records of a kind whose name matches, as the reader may see them."""
    if kind in ("contact", "company"):
        search = reader.search_contacts if kind == "contact" else reader.search_companies
        # The name and the first detail (a contact's company), enough to tell two apart.
        return [(h.id, f"{h.title} · {h.subtitle.split(' · ')[0]}" if h.subtitle else h.title)
                for h in search(query, limit=limit)]
    if kind == "deal":
        wanted = query.casefold()
        return [(d.id, f"{d.name} · {money(d.amount, d.currency)}, {describe_choice(d.stage)}")
                for d in reader.list_deals(DealFilter(), limit=500) if wanted in d.name.casefold()][:limit]
    return []


def record_label(record: Record) -> str:
    """A record's name as people know it: a contact's full name, a deal's or company's name, a subject."""
    return (getattr(record, "full_name", None) or getattr(record, "name", None)
            or getattr(record, "subject", None) or f"{type(record).__name__.lower()}")


def _for_clicker(decision: Decision) -> str:
    icon = {"refused": "🚫", "already_decided": "ℹ️", "not_found": "❓", "invalid": "⚠️", "executed": "✅",
            "rejected": "🚫", "stale": "⚠️", "failed": "❌", "expired": "⌛"}.get(decision.outcome, "")
    what = f"*{name(decision.proposal)}*: " if decision.proposal is not None else ""
    return f"{icon} {what}{_said(decision.message)}".strip()


def _said(message: str) -> str:
    """A decision's message as mrkdwn: escaped, except the user mentions it names people with, so
    Slack shows their names."""
    return _MENTION.sub(r"<@\1>", escape(message))
