"""Buttons on proposal cards (and the App Home) and the Reject / Edit modals.

Button values carry only proposal ids; who clicked comes from Slack's payload and everything
else from the database. Modals are opened straight after the acknowledgement, because a
trigger_id expires after 3 seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.records import ProposalStatus
from bot.slack.blocks.cards import APPROVE, APPROVE_ALL, EDIT, REJECT, RETRY
from bot.slack.blocks.modals import EDIT_VIEW, REJECT_VIEW, changed_fields, edit_modal, reject_modal, submitted
from bot.slack.decisions import editable_fields
from bot.slack.deps import SlackDeps

log = logging.getLogger(__name__)
Ack = Callable[..., Awaitable[None]]
Respond = Callable[..., Awaitable[Any]]


def _clicked(body: dict[str, Any]) -> tuple[str, str, bool]:
    """(value, user, came from the App Home) of a block_actions payload."""
    action = body["actions"][0]
    return str(action.get("value") or ""), body["user"]["id"], body.get("container", {}).get("type") == "view"


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def after_home_click(user: str, from_home: bool) -> None:
        if from_home:
            await deps.publish_home(user)

    async def on_approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        await ack()
        proposal_id, user, from_home = _clicked(body)

        async def job() -> None:
            await deps.decisions.approve(proposal_id, user, None if from_home else respond)
            await after_home_click(user, from_home)

        deps.runner.spawn(job, name=f"approve {proposal_id}")

    app.action(APPROVE)(on_approve)
    app.action(RETRY)(on_approve)  # a retry is an approval of a transiently failed proposal

    @app.action(APPROVE_ALL)
    async def on_approve_all(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        await ack()
        value, user, _ = _clicked(body)
        ids = [i for i in value.split(",") if i][:20]
        deps.runner.spawn(lambda: deps.decisions.approve_all(ids, user, respond), name="approve all")

    @app.action(REJECT)
    async def on_reject(ack: Ack, body: dict[str, Any], client: Any, respond: Respond) -> None:
        await ack()
        proposal_id, user, from_home = _clicked(body)
        proposal = await asyncio.to_thread(deps.approvals.get, proposal_id)
        if proposal is None or proposal.status != ProposalStatus.PENDING:
            await deps.decisions.refresh(proposal_id, None if from_home else respond)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=reject_modal(proposal))

    @app.action(EDIT)
    async def on_edit(ack: Ack, body: dict[str, Any], client: Any, respond: Respond) -> None:
        await ack()
        proposal_id, user, from_home = _clicked(body)
        proposal = await asyncio.to_thread(deps.approvals.get, proposal_id)
        if proposal is None or proposal.status != ProposalStatus.PENDING:
            await deps.decisions.refresh(proposal_id, None if from_home else respond)
            return
        fields = editable_fields(deps.approvals, proposal)
        await client.views_open(trigger_id=body["trigger_id"], view=edit_modal(proposal, fields))

    @app.view(REJECT_VIEW)
    async def on_reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        proposal_id, user = view.get("private_metadata", ""), body["user"]["id"]
        reason = submitted(view.get("state", {}).get("values", {})).get("reason")
        deps.runner.spawn(lambda: _reject(deps, proposal_id, user, reason), name=f"reject {proposal_id}")

    @app.view(EDIT_VIEW)
    async def on_edit_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        proposal_id, user = view.get("private_metadata", ""), body["user"]["id"]
        proposal = await asyncio.to_thread(deps.approvals.get, proposal_id)
        values = submitted(view.get("state", {}).get("values", {}))
        first = next(iter(values), "")
        if proposal is None:
            await ack(response_action="errors", errors={first: "This proposal no longer exists."})
            return
        changes = changed_fields(proposal, values)
        if not changes:
            await ack(response_action="errors", errors={first: "Change at least one field, or cancel."})
            return
        decision = await asyncio.to_thread(deps.approvals.edit, proposal_id, user=user, changes=changes,
                                           channel_members=await deps.members.checker(proposal.channel))
        if decision.outcome in ("invalid", "refused", "already_decided", "not_found"):
            field = next((name for name in changes if name in decision.message), next(iter(changes)))
            await ack(response_action="errors", errors={field: decision.message[:150]})
            return
        await ack()
        deps.runner.spawn(lambda: deps.decisions.after_edit(proposal, decision, user), name=f"edit {proposal_id}")


async def _reject(deps: SlackDeps, proposal_id: str, user: str, reason: str | None) -> None:
    await deps.decisions.reject(proposal_id, user, reason)
