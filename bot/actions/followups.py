"""What follows a proposal that did not simply execute, or did: why it was stale, and its reverse.

Stale: the fields a write depended on that moved since it was planned, from what to what, so the
card can say so (the values stay out of the audit log, which keeps field names only).

Revert: an executed update's reverse is the same tool with the values it replaced, planned on
the values it wrote (its basis), so it is refused as stale if anything changed those fields since.
It goes through the approval path like any proposal. Creates are not reverted: neither CRM adapter
archives records through the bot, and an e-mail that has left cannot be called back.

`FollowUps` is the part of the approval service that makes these proposals; it plans and stores
them with the service's own steps, so they are checked, hashed and audited like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from adapters.crm.base import ConflictError, CrmAdapter
from adapters.crm.basis import moved_fields
from bot.access.scoped_crm import ScopedCrm
from bot.actions.operations import Draft, Operation, Targets, json_value
from bot.actions.policy import Actor, ChannelMembers, Verdict
from bot.records import PlanError, ProposalStatus, ProposalView
from bot.store.proposals import SqlProposals

UPDATE_TOOLS = ("update_contact", "update_company", "update_deal")


def moved(proposal: ProposalView, exc: ConflictError) -> list[dict[str, Any]]:
    """[{field, planned, now}] of the fields that made the proposal stale. Without a basis (a proposal
    stored before field-level checks) the changed fields whose value differs from the card's."""
    basis = proposal.basis
    if basis is None:
        basis = {d["field"]: d["before"] for d in proposal.diff if "field" in d}
        fields: tuple[str, ...] = tuple(f for f, v in basis.items()
                                        if json_value(getattr(exc.current, f, None)) != v)
    else:
        fields = exc.fields
    return [{"field": f, "planned": basis.get(f), "now": json_value(getattr(exc.current, f, None))} for f in fields]


def stale_result(proposal: ProposalView, exc: ConflictError) -> dict[str, Any]:
    current = {d["field"]: json_value(getattr(exc.current, d["field"], None)) for d in proposal.diff}
    return {"current": current, "current_version": exc.current.version, "moved": moved(proposal, exc)}


def stale_error(proposal: ProposalView, exc: ConflictError) -> str:
    """One line naming the fields (not their values: this line is audited)."""
    names = [m["field"] for m in moved(proposal, exc)]
    kind = proposal.record_kind or "record"
    if not names:
        return f"the {kind} changed since the proposal (now version {exc.current.version})"
    return f"the {kind}'s {', '.join(names)} changed since the proposal"


def revert_until(proposal: ProposalView, undo: timedelta) -> datetime | None:
    """Until when an executed update may be reverted; None when it cannot be (not an executed update,
    nothing was changed, or a replay of an earlier write)."""
    result = proposal.result or {}
    if (proposal.status != ProposalStatus.EXECUTED or proposal.tool not in UPDATE_TOOLS
            or not result.get("changed") or proposal.decided_at is None or undo <= timedelta(0)):
        return None
    return proposal.decided_at + undo


def reverse_args(proposal: ProposalView) -> tuple[dict[str, Any], dict[str, Any]]:
    """(arguments of the reverse update, its basis: the values the execution wrote)."""
    changed = set((proposal.result or {}).get("changed") or ())
    id_field = f"{proposal.record_kind}_id"
    before = {d["field"]: d["before"] for d in proposal.diff if d.get("field") in changed}
    after = {d["field"]: d["after"] for d in proposal.diff if d.get("field") in changed}
    if not before or proposal.record_id is None:
        raise PlanError("this change cannot be reverted: it changed nothing")
    return {id_field: proposal.record_id, **before}, after


def check_revertible(proposal: ProposalView, now: datetime, undo: timedelta) -> None:
    """Raises PlanError saying why this proposal cannot be reverted now."""
    if proposal.status != ProposalStatus.EXECUTED:
        raise PlanError(f"only an executed change can be reverted; this one is {proposal.status}")
    if proposal.tool == "send_email":
        raise PlanError("a sent e-mail cannot be called back")
    if proposal.tool not in UPDATE_TOOLS:
        raise PlanError("a created record is not reverted by the bot: archive it in the CRM if it must go")
    until = revert_until(proposal, undo)
    if until is None:
        raise PlanError("this change cannot be reverted: it changed nothing")
    if now > until:
        minutes = int(undo.total_seconds() // 60)
        raise PlanError(f"the time to revert this change has passed ({minutes} minutes after it was made)")


def with_clears(draft: Draft | None, *, tool: str, risk: str, record: Any, clears: list[str]) -> Draft:
    """A revert's plan with the fields it empties again (the model's arguments cannot say "empty":
    a missing value means "leave as is", so those are added here, to the diff and the basis too)."""
    kind = type(record).__name__.lower()
    cleared = [f for f in clears if getattr(record, f, None) not in (None, "")]
    diff = tuple({"field": f, "before": json_value(getattr(record, f)), "after": None} for f in cleared)
    if draft is None:
        if not diff:
            raise PlanError("this change cannot be reverted: the record already has the old values")
        title = getattr(record, "full_name", None) or getattr(record, "name", None) or ""
        draft = Draft(tool, {f"{kind}_id": record.id}, f"Update {kind} {record.id} ({title}):", (), risk,  # type: ignore[arg-type]
                      kind, record.id, record.version, {})
    changes = ", ".join(f"{d['field']} {d['before']} -> empty" for d in diff)
    summary = f"{draft.summary}{',' if draft.diff and diff else ''} {changes}".rstrip() if diff else draft.summary
    return replace(draft, args={**draft.args, **{d["field"]: None for d in diff}}, diff=(*draft.diff, *diff),
                   summary=summary, basis={**(draft.basis or {}), **{d["field"]: d["before"] for d in diff}})


class FollowUps:
    """What follows a decision, as methods of the approval service (which provides what is declared
    here): Propose again, Revert, and an approved e-mail's delivery as the outbox reports it."""

    _proposals: SqlProposals
    _targets: Targets
    _operations: Mapping[str, Operation]
    _clock: Callable[[], datetime]
    undo: timedelta
    _plan: Callable[..., Draft]
    _store: Callable[..., ProposalView]
    _verdict: Callable[..., Verdict]
    _record: Callable[..., None]

    def propose_again(self, proposal_id: str, *, user: str, channel_members: ChannelMembers | None = None,
                      actor: Actor | None = None) -> ProposalView:
        """A stale proposal's change planned anew on the record as it is now, by its requester or
        someone who may approve it; the new proposal (user is its requester, planned through what
        they may see) needs its own approval. Raises PlanError saying why not."""
        proposal = self._proposals.get(proposal_id)
        if proposal is None:
            raise PlanError(f"proposal {proposal_id} does not exist")
        if proposal.status != ProposalStatus.STALE:
            raise PlanError(f"only a proposal that was not applied can be proposed again; this one is {proposal.status}")
        self._may_follow_up(proposal, user, actor, channel_members, "propose this again")
        if self._proposals.related(supersedes_id=proposal.id):  # a second click (or a second person)
            raise PlanError("this was already proposed again: its new card is in the same thread")
        reader, owner = self._as(actor)
        draft = self._plan(proposal.tool, proposal.args, reader, owner)
        return self._store(draft, requester=user, conversation_id=proposal.conversation_id, channel=proposal.channel,
                           supersedes=proposal.id, reverts=proposal.reverts_id)

    def propose_revert(self, proposal_id: str, *, user: str, channel_members: ChannelMembers | None = None,
                       actor: Actor | None = None) -> ProposalView:
        """The reverse of an executed update, within `approvals.undo_minutes` of its execution, as a
        new proposal (user is its requester) on the values the execution wrote. Raises PlanError
        saying why not (too late, not an update, changed again since, already being reverted)."""
        proposal = self._proposals.get(proposal_id)
        if proposal is None:
            raise PlanError(f"proposal {proposal_id} does not exist")
        check_revertible(proposal, self._clock(), self.undo)
        self._may_follow_up(proposal, user, actor, channel_members, "revert this change")
        open_reverts = [p for p in self._proposals.related(reverts_id=proposal.id)
                        if p.status in (ProposalStatus.PENDING, ProposalStatus.EXECUTING, ProposalStatus.EXECUTED)]
        if open_reverts:
            raise PlanError(f"a revert of this change is already {open_reverts[0].status}")
        args, written = reverse_args(proposal)
        reader, owner = self._as(actor)
        record = (reader or self._targets.crm).get(proposal.record_kind, proposal.record_id)  # type: ignore[arg-type]
        if record is None:
            raise PlanError(f"{proposal.record_kind} {proposal.record_id} does not exist")
        clears = [f for f, v in args.items() if v is None]
        values = {f: v for f, v in args.items() if v is not None}
        draft = self._plan(proposal.tool, values, reader, owner) if len(values) > 1 else None
        draft = with_clears(draft, tool=proposal.tool, risk=self._operations[proposal.tool].risk, record=record,
                            clears=clears)
        moved = moved_fields(proposal.record_kind, record, written)  # type: ignore[arg-type]
        if moved:
            raise PlanError(f"{', '.join(moved)} changed again since this change was made; reverting would "
                            "overwrite that, so propose the change you want instead")
        draft = replace(draft, summary=f"Revert: {draft.summary}")
        return self._store(draft, requester=user, conversation_id=proposal.conversation_id, channel=proposal.channel,
                           supersedes=None, reverts=proposal.id)

    def _as(self, actor: Actor | None) -> tuple[CrmAdapter | None, str | None]:
        """(the CRM as the actor may see it, their CRM owner): what a plan made for them reads through."""
        if actor is None or actor.scope is None:
            return None, actor.owner_id if actor else None
        return ScopedCrm(self._targets.crm, actor.scope), actor.owner_id

    def _may_follow_up(self, proposal: ProposalView, user: str, actor: Actor | None,
                       channel_members: ChannelMembers | None, verb: str) -> None:
        if user == proposal.requester or self._verdict(proposal, user, actor, channel_members).allowed:
            return
        self._record(proposal, user, proposal.status, None, {"refused": verb}, kind="approval.refused")
        raise PlanError(f"only the requester or someone who may approve it can {verb}")

    def revert_closed(self, since: datetime) -> list[ProposalView]:
        """Executed updates whose time to revert ended after `since` (up to now): their cards lose the
        Revert button."""
        now = self._clock()
        if self.undo <= timedelta(0) or since >= now:
            return []
        return [p for p in self._proposals.list(statuses=(ProposalStatus.EXECUTED,), limit=1000,
                                                decided_between=(since - self.undo, now - self.undo))
                if p.tool in UPDATE_TOOLS and p.message_ts]

    def emails_delivered(self, *, days: int = 7) -> list[ProposalView]:
        """Approved e-mails that were queued and that the outbox now reports sent (or failed), their
        stored result brought up to date so their cards say so; those of the last `days` days."""
        now = self._clock()
        changed = []
        for proposal in self._proposals.list(statuses=(ProposalStatus.EXECUTED,), limit=1000,
                                             decided_between=(now - timedelta(days=days), now)):
            result = proposal.result or {}
            if proposal.tool != "send_email" or result.get("status") not in ("queued", "sending"):
                continue
            status = self._targets.email.status(int(result["email"])) if result.get("email") else None
            if status in (None, result.get("status")):
                continue
            updated = {**result, "status": status}
            if self._proposals.transition(proposal.id, from_statuses=(ProposalStatus.EXECUTED,),
                                          to=ProposalStatus.EXECUTED, result=updated):
                changed.append(replace(proposal, result=updated))
        return changed
