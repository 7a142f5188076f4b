"""The approval service: the only way a write is proposed or executed, shared by the agent, the
digest buttons, the terminal and Slack.

`propose_call` is the one way in: it looks the tool up, validates its arguments, plans the write
against the current record (capturing its version) and stores the proposal, audited.

Approval claims the proposal with one conditional UPDATE (pending -> executing), so of any
number of simultaneous clicks exactly one wins; the winner checks the payload hash (which covers
the values the write was planned on), executes through the adapter with the proposal id as
idempotency key, refused as stale only when a field it changes or read to decide moved since, and
records the outcome. A stale proposal can be proposed again from the current values, and an
executed update reverted (its reverse proposed) for `approvals.undo_minutes`: both are new
proposals on the same path. Every transition is audited.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from adapters.crm.base import ConflictError, CrmAdapter, CrmError, RecordKind
from adapters.email.base import EmailError
from bot.actions.email_checks import MANAGERS, unknown_recipient
from bot.actions.followups import FollowUps, stale_error, stale_result
from bot.actions.operations import Draft, Operation, Targets
from bot.access.scope import Scope
from bot.access.scoped_crm import ScopedCrm
from bot.actions.policy import Actor, ApprovalPolicy, Approver, ChannelMembers, Verdict
from bot.records import PlanError, ProposalStatus, ProposalView
from bot.store.audit import SqlAuditLog
from bot.store.dead_letters import SqlDeadLetters
from bot.store.durable import durable
from bot.store.proposals import SqlProposals
from bot.store.tables import utcnow

log = logging.getLogger(__name__)

DecisionOutcome = Literal["executed", "stale", "failed", "rejected", "expired", "edited", "refused",
                          "already_decided", "not_found", "invalid"]


@dataclass(frozen=True)
class Decision:
    """What a click or a command did, with a one-line message for the person who made it."""

    outcome: DecisionOutcome
    message: str
    proposal: ProposalView | None = None


def payload_hash(tool: str, args: Mapping[str, Any], record_kind: str | None, record_id: int | None,
                 record_version: int | None, basis: Mapping[str, Any] | None = None) -> str:
    """SHA-256 of what will execute: the tool, its arguments, the record version shown and the
    values of the fields it depends on (a proposal stored before field-level checks has none)."""
    parts: list[Any] = [tool, dict(args), record_kind, record_id, record_version]
    if basis is not None:
        parts.append(dict(basis))
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _target(proposal: ProposalView) -> tuple[RecordKind, int] | None:
    if proposal.record_kind and proposal.record_id is not None:
        return proposal.record_kind, proposal.record_id  # type: ignore[return-value]
    for kind in ("deal", "contact", "company"):
        value = proposal.args.get(f"{kind}_id")
        if isinstance(value, int):
            return kind, value  # type: ignore[return-value]
    return None


class Approvals(FollowUps):
    """Proposes, approves, rejects, edits, expires and recovers proposals (and, from FollowUps,
    proposes a stale one again or an executed one's reverse)."""

    def __init__(self, proposals: SqlProposals, audit: SqlAuditLog, operations: Mapping[str, Operation],
                 targets: Targets, policy: ApprovalPolicy, *, expiry: timedelta,
                 clock: Callable[[], datetime] = utcnow,
                 on_executed: Callable[[ProposalView], None] | None = None,
                 groups: Mapping[str, tuple[str, ...]] | None = None, undo: timedelta = timedelta(minutes=60),
                 letters: SqlDeadLetters | None = None,
                 retry_at: Callable[[int], datetime | None] | None = None) -> None:
        self._proposals, self._policy, self._expiry, self._clock = proposals, policy, expiry, clock
        self.undo = undo  # how long after its execution an update may be reverted
        # The dead-letter list: executions that failed transiently are kept there, and retried at
        # retry_at(tries so far) (None: they wait for a person, the card's Retry or `failed retry`).
        self._letters, self._retry_at = letters, retry_at
        self.audit, self._operations, self._targets = audit, operations, targets
        self._on_executed = on_executed
        self._groups = dict(groups or {})  # [people.groups]: the groups of a decider given without an Actor

    # -- creating ---------------------------------------------------------------------------

    def propose_call(self, tool: str, raw_args: Mapping[str, Any], *, requester: str,
                     conversation_id: str | None = None, channel: str | None = None,
                     supersedes: str | None = None, reader: CrmAdapter | None = None,
                     owner: str | None = None) -> ProposalView:
        """Plan a write tool's call and store it as a pending proposal (audited); nothing executes.

        reader is the CRM as the requester may see it: the plan reads the target record through it,
        so a record they may not see cannot be proposed on (it is "not found" for them too). owner is
        the requester's CRM owner: the activities the write logs are theirs.
        Raises PlanError for an unknown tool, invalid arguments or a write that cannot be planned,
        and CrmError when the CRM cannot be read.
        """
        return self._store(self._plan(tool, raw_args, reader, owner), requester=requester,
                           conversation_id=conversation_id, channel=channel, supersedes=supersedes)

    def argument_model(self, tool: str) -> type[BaseModel] | None:
        """The arguments a write tool takes (what an edit may change), or None for an unknown tool."""
        operation = self._operations.get(tool)
        return operation.args if operation is not None else None

    def approval_rule(self, risk: str) -> tuple[tuple[str, ...], bool]:
        """(the rules of this risk level, whether its requester may approve alone), to put in words."""
        return self._policy.rules(risk), self._policy.self_approves(risk)

    def now(self) -> datetime:
        """The service's clock: what dates plans and expiries."""
        return self._clock()

    def _plan(self, tool: str, raw_args: Mapping[str, Any], reader: CrmAdapter | None = None,
              owner: str | None = None) -> Draft:
        operation = self._operations.get(tool)
        if operation is None:
            raise PlanError(f"unknown write tool {tool!r}; use one of: {', '.join(self._operations)}")
        targets = replace(self._targets, crm=reader or self._targets.crm, owner=owner)
        return operation.plan(targets, operation.parse(raw_args))

    def _store(self, draft: Draft, *, requester: str, conversation_id: str | None,
               channel: str | None, supersedes: str | None, reverts: str | None = None) -> ProposalView:
        now = self._clock()
        proposal = ProposalView(
            id=secrets.token_hex(8), conversation_id=conversation_id, tool=draft.tool, args=draft.args,
            payload_hash=payload_hash(draft.tool, draft.args, draft.record_kind, draft.record_id, draft.record_version,
                                      draft.basis),
            summary=draft.summary, diff=list(draft.diff), risk=draft.risk, requester=requester,
            record_kind=draft.record_kind, record_id=draft.record_id, record_version=draft.record_version,
            status=ProposalStatus.PENDING, created_at=now, expires_at=now + self._expiry, decided_by=None,
            decided_at=None, reason=None, result=None, error=None, supersedes_id=supersedes, channel=channel,
            message_ts=None, basis=draft.basis, reverts_id=reverts,
        )
        self._proposals.insert(proposal)
        self._record(proposal, requester, None, ProposalStatus.PENDING,
                     {"tool": draft.tool, "risk": draft.risk, **({"reverts": reverts} if reverts else {})})
        return proposal

    # -- deciding ---------------------------------------------------------------------------

    def approve(self, proposal_id: str, *, user: str, channel_members: ChannelMembers | None = None,
                actor: Actor | None = None) -> Decision:
        """Authorise, claim atomically, execute once. Safe to call any number of times, concurrently."""
        proposal = self._proposals.get(proposal_id)
        if proposal is None:
            return Decision("not_found", f"proposal {proposal_id} does not exist")
        retrying = proposal.status == ProposalStatus.FAILED and bool((proposal.result or {}).get("retryable"))
        if proposal.status != ProposalStatus.PENDING and not retrying:
            return self._already(proposal)
        now = self._clock()
        if proposal.status == ProposalStatus.PENDING and proposal.expires_at <= now:
            return self._expire(proposal, now)
        verdict = self._verdict(proposal, user, actor, channel_members)
        if not verdict.allowed:
            self._record(proposal, user, proposal.status, None, {"refused": verdict.reason}, kind="approval.refused")
            return Decision("refused", verdict.reason, proposal)
        claimed = self._proposals.transition(
            proposal_id, from_statuses=(ProposalStatus.FAILED if retrying else ProposalStatus.PENDING,),
            to=ProposalStatus.EXECUTING,
            not_expired_at=None if retrying else now, decided_by=user, decided_at=now,
        )
        if not claimed:
            return self._already(self._proposals.get(proposal_id) or proposal)
        self._record(proposal, user, proposal.status, ProposalStatus.EXECUTING, {"rule": verdict.reason})
        return self._execute(replace(proposal, status=ProposalStatus.EXECUTING, decided_by=user, decided_at=now), user)

    def reject(self, proposal_id: str, *, user: str, reason: str | None = None,
               channel_members: ChannelMembers | None = None, actor: Actor | None = None) -> Decision:
        """Reject a pending proposal: its requester or anyone who may approve it."""
        proposal = self._pending_for(proposal_id, user, channel_members, "reject", actor)
        if isinstance(proposal, Decision):
            return proposal
        now = self._clock()
        reason = (reason or "").strip()[:500] or None
        if not self._proposals.transition(proposal_id, from_statuses=(ProposalStatus.PENDING,),
                                          to=ProposalStatus.REJECTED, decided_by=user, decided_at=now,
                                          reason=reason):
            return self._already(self._proposals.get(proposal_id) or proposal)
        self._record(proposal, user, ProposalStatus.PENDING, ProposalStatus.REJECTED,
                     {"reason_given": reason is not None})
        return Decision("rejected", f"by {user}" + (f" ({reason})" if reason else ""), self._proposals.get(proposal_id))

    def edit(self, proposal_id: str, *, user: str, changes: Mapping[str, Any],
             channel_members: ChannelMembers | None = None, actor: Actor | None = None,
             reader: CrmAdapter | None = None) -> Decision:
        """Replace a pending proposal by a new version with some arguments changed.

        The editor becomes the new version's requester (so a high-risk edit needs yet another
        person to approve it); the old version can no longer be approved. reader is the CRM as the
        editor may see it: the new version is planned through it, as `propose_call` plans.
        """
        proposal = self._pending_for(proposal_id, user, channel_members, "edit", actor)
        if isinstance(proposal, Decision):
            return proposal
        fixed = f"{proposal.record_kind}_id" if proposal.record_id is not None else None
        if fixed in changes and str(changes[fixed]) != str(proposal.args.get(fixed)):
            return Decision("invalid", f"an edit cannot change which record the proposal is for ({fixed})", proposal)
        # propose_call's two halves, with the old version superseded in between: planned first, so
        # an invalid edit leaves it pending; stored only once this edit has won it.
        try:
            draft = self._plan(proposal.tool, {**proposal.args, **changes}, reader,
                               owner=actor.owner_id if actor else None)
        except (PlanError, CrmError) as exc:
            return Decision("invalid", str(exc), proposal)
        if not self._proposals.transition(proposal_id, from_statuses=(ProposalStatus.PENDING,),
                                          to=ProposalStatus.SUPERSEDED,
                                          decided_by=user, decided_at=self._clock()):
            return self._already(self._proposals.get(proposal_id) or proposal)
        self._record(proposal, user, ProposalStatus.PENDING, ProposalStatus.SUPERSEDED, {"edited": sorted(changes)})
        new = self._store(draft, requester=user, conversation_id=proposal.conversation_id,
                          channel=proposal.channel, supersedes=proposal.id, reverts=proposal.reverts_id)
        return Decision("edited", f"replaced by proposal {new.id}", new)

    # -- follow-up bookkeeping --------------------------------------------------------------

    def mark_told(self, proposal: ProposalView) -> bool:
        """Claim telling the requester of the proposal's final status: True for one caller only."""
        return self._proposals.mark_told(proposal.id, proposal.status)

    def related(self, *, group_ts: str | None = None, reverts_id: str | None = None,
                conversation_ids: Sequence[str] = ()) -> list[ProposalView]:
        """Proposals of one "Approve all" message, reverting one proposal, or of some conversations."""
        return self._proposals.related(group_ts=group_ts, reverts_id=reverts_id, conversation_ids=conversation_ids)

    def grouped(self, proposal_ids: Sequence[str], *, group_ts: str) -> None:
        """Remember the "Approve all" message covering these proposals (so it follows their fate)."""
        self._proposals.set_group(proposal_ids, group_ts=group_ts)

    # -- housekeeping -----------------------------------------------------------------------

    def expire_due(self) -> list[ProposalView]:
        """Mark every pending proposal past its expiry as expired; returns them (to update cards)."""
        now = self._clock()
        due = self._proposals.list(statuses=(ProposalStatus.PENDING,), expired_before=now, limit=1000)
        decisions = [self._expire(proposal, now) for proposal in due]
        return [d.proposal for d in decisions if d.outcome == "expired" and d.proposal is not None]

    def recover(self) -> list[Decision]:
        """Finish proposals a crash left executing. Executing again with the same idempotency key
        either replays the write that happened or performs the one that did not: never twice."""
        decisions = []
        for proposal in self._proposals.list(statuses=(ProposalStatus.EXECUTING,), limit=1000):
            self._record(proposal, "recovery", ProposalStatus.EXECUTING, ProposalStatus.EXECUTING, {"recovering": True})
            decisions.append(self._execute(proposal, proposal.decided_by or "recovery"))
        return decisions

    def pending(self, *, requester: str | None = None, conversation_id: str | None = None) -> list[ProposalView]:
        return self._proposals.list(statuses=(ProposalStatus.PENDING,), requester=requester,
                                    conversation_id=conversation_id)

    def actionable_by(self, user: str, channel_members: ChannelMembers | None = None,
                      actor: Actor | None = None) -> list[ProposalView]:
        """Pending proposals this user may approve."""
        return [p for p in self._proposals.list(statuses=(ProposalStatus.PENDING,), limit=500)
                if self._verdict(p, user, actor, channel_members).allowed]

    def get(self, proposal_id: str) -> ProposalView | None:
        return self._proposals.get(proposal_id)

    def card_posted(self, proposal_id: str, *, channel: str, message_ts: str, thread_ts: str | None = None) -> None:
        """Remember where the proposal's card is, so later decisions and the expiry sweep update it,
        and the thread it is in, where its requester hears the outcome."""
        self._proposals.set_message(proposal_id, channel=channel, message_ts=message_ts, thread_ts=thread_ts)

    # -- internals --------------------------------------------------------------------------

    def _pending_for(self, proposal_id: str, user: str, channel_members: ChannelMembers | None,
                     verb: str, actor: Actor | None) -> ProposalView | Decision:
        """The proposal if it is pending and user is its requester or may approve it; else why not."""
        proposal = self._proposals.get(proposal_id)
        if proposal is None:
            return Decision("not_found", f"proposal {proposal_id} does not exist")
        if proposal.status != ProposalStatus.PENDING:
            return self._already(proposal)
        if user != proposal.requester and not self._verdict(proposal, user, actor, channel_members).allowed:
            self._record(proposal, user, ProposalStatus.PENDING, None, {"refused": verb}, kind="approval.refused")
            return Decision("refused", f"only the requester or someone who may approve it can {verb} this proposal",
                            proposal)
        return proposal

    def _verdict(self, proposal: ProposalView, user: str, actor: Actor | None,
                 channel_members: ChannelMembers | None) -> Verdict:
        """The policy's answer for this person, with the record's owner read now (it may have changed)."""
        owner = self._record_owner(proposal)
        if actor is None:  # no trust model in front (tests, tools): the configured groups, sees everything
            approver = Approver(user, self._groups_of(user))
        else:
            approver = Approver(user, actor.groups, actor.owner_id,
                                may_see_record=actor.scope is None or actor.scope.sees(owner))
        verdict = self._policy.check(risk=proposal.risk, requester=proposal.requester, approver=approver,
                                     channel=proposal.channel, channel_members=channel_members, record_owner=owner)
        if verdict.allowed and unknown_recipient(proposal.diff) and MANAGERS not in approver.groups:
            # An e-mail leaving for an address the CRM does not know: managers only, whatever the rules.
            return Verdict(False, f"an e-mail to a recipient not in the CRM needs the {MANAGERS} group to approve it")
        return verdict

    def _record_owner(self, proposal: ProposalView) -> str | None:
        """The effective owner of the record the proposal changes (or, for a create, the record it is
        made for: its deal, contact or company)."""
        target = _target(proposal)
        if target is None:
            return None
        record = self._targets.crm.get(*target)
        return ScopedCrm(self._targets.crm, Scope.everything()).owner_of(record) if record is not None else None

    def _groups_of(self, user: str) -> frozenset[str]:
        return frozenset(name for name, members in self._groups.items() if user in members)

    def _execute(self, proposal: ProposalView, user: str) -> Decision:
        expected = payload_hash(proposal.tool, proposal.args, proposal.record_kind, proposal.record_id,
                                proposal.record_version, proposal.basis)
        operation = self._operations.get(proposal.tool)
        if expected != proposal.payload_hash or operation is None:
            return self._finish(proposal, user, ProposalStatus.FAILED,
                                error="the stored proposal does not match what was approved",
                                result={"retryable": False})
        try:
            result = operation.execute(self._targets, proposal.args, proposal.record_id, proposal.record_version,
                                       proposal.id, proposal.basis)
        except ConflictError as exc:
            return self._finish(proposal, user, ProposalStatus.STALE, result=stale_result(proposal, exc),
                                error=stale_error(proposal, exc))
        except EmailError as exc:
            return self._finish(proposal, user, ProposalStatus.FAILED, error=str(exc),
                                result={"retryable": exc.transient})
        except CrmError as exc:
            return self._finish(proposal, user, ProposalStatus.FAILED, error=str(exc), result={"retryable": False})
        except Exception as exc:  # noqa: BLE001 - a database or network hiccup: may be retried
            log.exception("proposal %s failed while executing", proposal.id)
            return self._finish(proposal, user, ProposalStatus.FAILED,
                                error=f"could not complete ({type(exc).__name__}); try again",
                                result={"retryable": True})
        return self._finish(proposal, user, ProposalStatus.EXECUTED, result=result)

    def _finish(self, proposal: ProposalView, user: str, status: ProposalStatus, *, result: dict[str, Any],
                error: str | None = None) -> Decision:
        # The outcome must be recorded even if the database restarts right now (the write may
        # have happened): retried, and a conditional update, so a repeat changes nothing.
        durable(self._proposals.transition, proposal.id, from_statuses=(ProposalStatus.EXECUTING,), to=status,
                result=result, error=error)
        # The audit keeps references and versions, not field values (which may be personal data).
        audited = {k: v for k, v in result.items() if k not in ("current", "moved")}
        if result.get("moved"):
            audited["moved_fields"] = [m["field"] for m in result["moved"]]
        self._record(proposal, user, ProposalStatus.EXECUTING, status,
                     {**audited, **({"error": error} if error else {})})
        done = replace(proposal, status=status, result=result, error=error)
        self._keep(done, user)
        if status == ProposalStatus.EXECUTED and self._on_executed is not None:
            try:
                self._on_executed(done)
            except Exception:  # noqa: BLE001 - the write happened; a follow-up failing must not hide that
                log.exception("after-execute hook failed for proposal %s", proposal.id)
        message = {ProposalStatus.EXECUTED: "done", ProposalStatus.STALE: error or "stale",
                   ProposalStatus.FAILED: f"failed: {error}"}[status]
        return Decision(status.value, message, done)  # type: ignore[arg-type]

    def _keep(self, proposal: ProposalView, user: str) -> None:
        """A transient failure goes on the dead-letter list (retried through approve(), so at most
        once still holds); any other ending settles an item listed before."""
        if self._letters is None:
            return
        try:
            if proposal.status == ProposalStatus.FAILED and (proposal.result or {}).get("retryable"):
                before = self._letters.find("execution", proposal.id)
                when = self._retry_at(before.attempts if before else 0) if self._retry_at else None
                durable(self._letters.record, "execution", proposal.id, reason=proposal.error or "failed",
                        payload={"proposal_id": proposal.id, "approver": user}, user=proposal.requester,
                        channel=proposal.channel, retry_at=when, now=self._clock())
            else:
                self._letters.settle("execution", proposal.id, now=self._clock())
        except Exception:  # noqa: BLE001 - the outcome is recorded on the proposal whatever happens here
            log.exception("proposal %s: could not update the dead-letter list", proposal.id)

    def _already(self, proposal: ProposalView) -> Decision:
        # A Slack mention: Slack shows the person's name (the terminal prints it as it is).
        who = f" by <@{proposal.decided_by}>" if proposal.decided_by and proposal.decided_by != "recovery" else ""
        when = f" at {proposal.decided_at:%Y-%m-%d %H:%M} UTC" if proposal.decided_at else ""
        return Decision("already_decided", f"this proposal is already {proposal.status}{who}{when}", proposal)

    def _expire(self, proposal: ProposalView, now: datetime) -> Decision:
        """Mark it expired, unless someone decided it first."""
        if not self._proposals.transition(proposal.id, from_statuses=(ProposalStatus.PENDING,),
                                          to=ProposalStatus.EXPIRED, decided_at=now):
            return self._already(self._proposals.get(proposal.id) or proposal)
        self._record(proposal, None, ProposalStatus.PENDING, ProposalStatus.EXPIRED, {})
        return Decision("expired", "this proposal has expired; ask again to get a fresh one",
                        replace(proposal, status=ProposalStatus.EXPIRED, decided_at=now))

    def _record(self, proposal: ProposalView, actor: str | None, from_status: str | None, to_status: str | None,
                data: dict[str, Any], *, kind: str = "proposal.transition") -> None:
        durable(self.audit.record, kind, actor=actor, conversation_id=proposal.conversation_id,
                proposal_id=proposal.id, from_status=from_status, to_status=to_status,
                payload_hash=proposal.payload_hash, data=data)

