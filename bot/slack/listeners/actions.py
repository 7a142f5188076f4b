"""Buttons on proposal cards (and the App Home), the Reject / Edit modals and the e-mail viewer.

Button values carry only proposal ids; who clicked comes from Slack's payload and everything
else from the database. Modals are opened straight after the acknowledgement, because a
trigger_id expires after 3 seconds. The Approve button leads to `on_approve`, which runs
`CardDecisions.approve` in the background: that calls `Approvals.approve`, which executes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.records import ProposalStatus, ProposalView
from bot.slack.blocks.describe import REFS
from bot.slack.blocks.edit_form import changed_fields, edit_modal, field_error, problems, record_option, submitted
from bot.slack.blocks.modals import email_modal, reject_modal
from bot.slack.decisions import editable_fields
from bot.slack.deps import SlackDeps, deps_of
from bot.slack.notices import place_of
from bot.slack.types import Ack, Respond

log = logging.getLogger(__name__)
APPROVE_ALL_LIMIT = 20  # proposals one "Approve all" click decides on


def _clicked(body: dict[str, Any]) -> tuple[str, str, bool]:
    """(value, user, came from the App Home) of a block_actions payload."""
    action = body["actions"][0]
    return str(action.get("value") or ""), body["user"]["id"], body.get("container", {}).get("type") == "view"


async def on_approve(ack: Ack, body: dict[str, Any], respond: Respond, context: dict[str, Any]) -> None:
    """Approve (or Retry, after a transient failure): acknowledged, then decided in the background."""
    await ack()
    deps = deps_of(context)
    proposal_id, user, from_home = _clicked(body)

    async def job() -> None:
        await deps.decisions.approve(proposal_id, user, None if from_home else respond, place=place_of(body))
        if from_home:
            await deps.publish_home(user)

    deps.runner.spawn(job, name=f"approve {proposal_id}")


async def on_approve_all(ack: Ack, body: dict[str, Any], respond: Respond, context: dict[str, Any]) -> None:
    """Approve all: each proposal of the button's list (at most 20) decided on its own."""
    await ack()
    deps = deps_of(context)
    value, user, _ = _clicked(body)
    ids = [i for i in value.split(",") if i][:APPROVE_ALL_LIMIT]
    deps.runner.spawn(lambda: deps.decisions.approve_all(ids, user, respond, place=place_of(body)), name="approve all")


async def on_propose_again(ack: Ack, body: dict[str, Any], respond: Respond, context: dict[str, Any]) -> None:
    """Propose again with current values (a stale proposal): a new proposal, same approval path."""
    await _follow_up(ack, body, respond, context, "again")


async def on_revert(ack: Ack, body: dict[str, Any], respond: Respond, context: dict[str, Any]) -> None:
    """Revert (an executed update, within approvals.undo_minutes): its reverse proposed for approval."""
    await _follow_up(ack, body, respond, context, "revert")


async def _follow_up(ack: Ack, body: dict[str, Any], respond: Respond, context: dict[str, Any], verb: str) -> None:
    await ack()
    deps = deps_of(context)
    proposal_id, user, from_home = _clicked(body)
    place = place_of(body)
    deps.runner.spawn(lambda: deps.decisions.follow_up(verb, proposal_id, user, None if from_home else respond, place),
                      name=f"{verb} {proposal_id}")


async def on_reject(ack: Ack, body: dict[str, Any], client: Any, respond: Respond, context: dict[str, Any]) -> None:
    """Reject: opens the modal asking for a reason (or redraws a card that is no longer pending)."""
    await ack()
    deps = deps_of(context)
    proposal = await _pending_to_open(deps, body, respond)
    if proposal is not None:
        facts = await deps.decisions.facts(proposal)
        await client.views_open(trigger_id=body["trigger_id"], view=reject_modal(proposal, facts))


async def on_edit(ack: Ack, body: dict[str, Any], client: Any, respond: Respond, context: dict[str, Any]) -> None:
    """Edit: opens the modal with the proposal's editable fields (or redraws a decided card)."""
    await ack()
    deps = deps_of(context)
    proposal = await _pending_to_open(deps, body, respond)
    if proposal is not None:
        fields = editable_fields(deps.approvals, proposal)
        facts = await deps.decisions.facts(proposal)
        await client.views_open(trigger_id=body["trigger_id"], view=edit_modal(proposal, fields, facts))


async def on_record_options(ack: Ack, body: dict[str, Any], context: dict[str, Any]) -> None:
    """An Edit form's record search (block_suggestion): the records of the field's kind whose name
    matches what was typed, only those the person typing may see."""
    deps = deps_of(context)
    kind = REFS.get(str(body.get("block_id") or ""))
    found = (await deps.decisions.record_options(body["user"]["id"], kind, str(body.get("value") or ""))
             if kind else [])
    await ack(options=[record_option(record_id, label) for record_id, label in found])


async def _pending_to_open(deps: SlackDeps, body: dict[str, Any], respond: Respond) -> ProposalView | None:
    """The clicked proposal when a modal on it may open: it is pending (else its card is redrawn)
    and the clicker is part of its conversation (else they are told so)."""
    proposal_id, user, from_home = _clicked(body)
    proposal = await asyncio.to_thread(deps.approvals.get, proposal_id)
    if proposal is None or proposal.status != ProposalStatus.PENDING:
        await deps.decisions.refresh(proposal_id, None if from_home else respond)
        return None
    if await _outsider(deps, proposal, user, respond, from_home):
        return None
    return proposal


async def on_view_email(ack: Ack, body: dict[str, Any], client: Any, respond: Respond,
                        context: dict[str, Any]) -> None:
    """View e-mail: opens a modal with the whole e-mail of a send_email proposal, in any state (a
    proposal that no longer exists only has its card redrawn)."""
    await ack()
    deps = deps_of(context)
    proposal_id, user, from_home = _clicked(body)
    proposal = await asyncio.to_thread(deps.approvals.get, proposal_id)
    if proposal is None or proposal.tool != "send_email":
        await deps.decisions.refresh(proposal_id, None if from_home else respond)
        return
    if await _outsider(deps, proposal, user, respond, from_home):
        return
    await client.views_open(trigger_id=body["trigger_id"], view=email_modal(proposal))


async def _outsider(deps: SlackDeps, proposal: ProposalView, user: str, respond: Respond, from_home: bool) -> bool:
    """A modal shows a proposal's content: only to people of the conversation it was made in (a
    click with a copied id from elsewhere is told so, and shown nothing)."""
    if await deps.decisions.part_of(proposal, user):
        return False
    if not from_home:
        await respond(text="Only people in the conversation where this was proposed can open it.",
                      response_type="ephemeral", replace_original=False)
    return True


async def on_reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    """The Reject modal's submission: the rejection runs in the background."""
    await ack()
    deps = deps_of(context)
    proposal_id, user = view.get("private_metadata", ""), body["user"]["id"]
    reason = submitted(view.get("state", {}).get("values", {})).get("reason")
    reason = str(reason) if reason else None
    deps.runner.spawn(lambda: deps.decisions.reject(proposal_id, user, reason), name=f"reject {proposal_id}")


async def on_edit_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    """The Edit modal's submission: the edit is made before the acknowledgement, so that what is
    wrong with it shows in the modal, next to the field."""
    deps = deps_of(context)
    proposal_id, user = view.get("private_metadata", ""), body["user"]["id"]
    proposal = await asyncio.to_thread(deps.approvals.get, proposal_id)
    values = submitted(view.get("state", {}).get("values", {}))
    first = next(iter(values), "")
    if proposal is None:
        await ack(response_action="errors", errors={first: "This proposal no longer exists."})
        return
    fields = editable_fields(deps.approvals, proposal)
    changes = changed_fields(proposal, values, fields)
    errors = problems(fields, changes)
    for field in (f for f in fields if f.kind == "user" and f.name in changes and f.name not in errors):
        owner, why = await deps.decisions.owner_for(str(changes[field.name]))
        if owner is None:
            errors[field.name] = why
        elif owner == proposal.args.get(field.name):
            del changes[field.name]  # the person who owns it already
        else:
            changes[field.name] = owner
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    if not changes:
        await ack(response_action="errors", errors={first: "Change at least one field, or cancel."})
        return
    decision = await deps.decisions.edit(proposal, user, changes)
    if decision.outcome in ("invalid", "refused", "already_decided", "not_found"):
        field, message = field_error(decision.message, changes, [f.name for f in fields])
        await ack(response_action="errors", errors={field: message})
        return
    await ack()
    deps.runner.spawn(lambda: deps.decisions.after_edit(proposal, decision, user), name=f"edit {proposal_id}")

