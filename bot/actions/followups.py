"""What follows a proposal that did not simply execute, or did: why it was stale, and its reverse.

Stale: the fields a write depended on that moved since it was planned, from what to what, so the
card can say so (the values stay out of the audit log, which keeps field names only).

Revert: an executed update's reverse is the same tool with the values it replaced, planned on
the values it wrote (its basis), so it is refused as stale if anything changed those fields since.
It goes through the approval path like any proposal. Creates are not reverted: neither CRM adapter
archives records through the bot, and an e-mail that has left cannot be called back.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from adapters.crm.base import ConflictError
from bot.actions.operations import Draft, json_value
from bot.records import PlanError, ProposalStatus, ProposalView

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
