"""The Bolt app: every listener, registered here and only here, behind the global middleware.

Read this table to find what handles a Slack request: an event type, the `/crm` command, a
button's action_id or a modal's callback_id leads to one module-level function in
bot/slack/listeners. Each takes its dependencies from `context["deps"]`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack import middleware
from bot.slack.blocks.cards import APPROVE, APPROVE_ALL, EDIT, REJECT, RETRY
from bot.slack.blocks.outcomes import PROPOSE_AGAIN, REVERT
from bot.slack.blocks.digest import FOLLOW_UP, SNOOZE
from bot.slack.blocks.email import VIEW_EMAIL
from bot.slack.blocks.edit_form import EDIT_VIEW, RECORD
from bot.slack.blocks.feedback import FEEDBACK, FEEDBACK_VIEW
from bot.slack.blocks.messages import OPEN_CARD
from bot.slack.blocks.modals import REJECT_VIEW
from bot.slack.deps import SlackDeps
from bot.slack.door import door
from bot.slack.listeners import actions, commands, digests, events, feedback

log = logging.getLogger(__name__)


def build_app(deps: SlackDeps, *, socket_mode: bool) -> AsyncApp:
    """The Bolt app over the poster's client; HTTP requests are signature-checked unless in Socket Mode."""
    secret = deps.settings.secrets.slack_signing_secret
    app = AsyncApp(client=deps.poster.client, signing_secret=secret.get_secret_value() if secret else "",
                   request_verification_enabled=not socket_mode, process_before_response=False)
    # Bolt logs a refused request's body and headers at INFO. The server refuses those before Bolt
    # sees them (bot.slack.signed); should one reach Bolt's own check, nothing of it is logged.
    logging.getLogger("slack_bolt.RequestVerification").addFilter(_not_request_content)
    register(app, deps)
    return app


def _not_request_content(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """The global middleware, then every listener."""
    app.use(middleware.provide(deps))
    app.use(middleware.only_people)
    app.use(door)  # who may use the bot at all: before every listener, for every kind of request

    app.event("app_mention")(events.on_mention)
    app.event("message")(events.on_message)
    app.event("app_home_opened")(events.on_home_opened)
    app.event("member_joined_channel")(events.on_membership_changed)
    app.event("member_left_channel")(events.on_membership_changed)
    app.event("user_change")(events.on_user_changed)

    app.command("/crm")(commands.on_crm)
    app.action(OPEN_CARD)(commands.on_open_card)

    app.action(APPROVE)(actions.on_approve)
    app.action(RETRY)(actions.on_approve)  # a retry is an approval of a transiently failed proposal
    app.action(APPROVE_ALL)(actions.on_approve_all)
    app.action(PROPOSE_AGAIN)(actions.on_propose_again)
    app.action(REVERT)(actions.on_revert)
    app.action(REJECT)(actions.on_reject)
    app.action(EDIT)(actions.on_edit)
    app.action(VIEW_EMAIL)(actions.on_view_email)
    app.view(REJECT_VIEW)(actions.on_reject_submitted)
    app.view(EDIT_VIEW)(actions.on_edit_submitted)
    app.options(RECORD)(actions.on_record_options)

    app.action(FEEDBACK)(feedback.on_feedback)
    app.view(FEEDBACK_VIEW)(feedback.on_feedback_comment)

    app.action(FOLLOW_UP)(digests.on_digest_button)
    app.action(SNOOZE)(digests.on_digest_button)

    app.error(on_error)


async def on_error(error: Exception, body: dict[str, Any]) -> None:
    """A listener raised: logged with the payload's type (never its content)."""
    log.error("listener failed on a %s payload: %s", body.get("type", "?"), error, exc_info=error)
