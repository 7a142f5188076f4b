"""The log of decisions: one structured line per request, refusal, proposal step and failed turn.

Each line is written to the `bot.decisions` logger with its fields both in the message
(`key=value`, for the text format) and as the record's `fields` (for the JSON format). Fields
are ids, kinds, risks, states and short reasons the bot itself chose: never a message text, a
name or an e-mail address. The same calls count the matching metrics, so one call site keeps
the log and the figures in step.

Proposal steps and refusals are read from the audit log as it is written (`audited`, the audit
log's hook): every entry point that decides (Slack, the terminal, expiry, recovery) is covered
without a call of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from bot.ops.metrics import Metrics

LOGGER = "bot.decisions"
# The door's entry kinds (bot.slack.door.Asking.kind) as request kinds of the metrics.
_ENTRY_KINDS = {"app_mention": "mention", "message": "dm", "app_home_opened": "home", "command": "command",
                "block_actions": "action", "view_submission": "view"}
_DECIDED = {"executing": "approved", "rejected": "rejected", "expired": "expired", "superseded": "edited"}
_EXECUTED = ("executed", "failed", "stale")


class ProposalFacts(Protocol):
    """What the journal reads of a stored proposal (bot.records.ProposalView has it)."""

    tool: str
    risk: str
    created_at: Any
    decided_at: Any


class Journal:
    """Writes decision lines (unless `log_decisions` is off) and counts metrics (when given)."""

    def __init__(self, metrics: Metrics | None, *, log_decisions: bool = True,
                 lookup: Callable[[str], ProposalFacts | None] | None = None,
                 logger: logging.Logger | None = None) -> None:
        self.metrics = metrics
        self._log = logger or logging.getLogger(LOGGER)
        self._on = log_decisions
        self._lookup = lookup

    def line(self, level: int, event: str, **fields: Any) -> None:
        """One decision line: `event key=value …`, the fields also attached for the JSON format."""
        if not self._on or not self._log.isEnabledFor(level):
            return
        text = " ".join(f"{key}={_shown(value)}" for key, value in fields.items())
        self._log.log(level, "%s %s", event, text, extra={"event": event, "fields": fields})

    # -- requests -----------------------------------------------------------------------------------

    def received(self, kind: str, *, user: str, channel: str | None, conversation_id: str | None) -> None:
        self.line(logging.INFO, "request.received", kind=kind, user=user, channel=channel,
                  conversation=conversation_id)

    def queued(self, kind: str, *, conversation_id: str | None, ahead: int) -> None:
        if self.metrics is not None:
            self.metrics.request(kind, "queued")
        self.line(logging.INFO, "request.queued", kind=kind, conversation=conversation_id, ahead=ahead)

    def finished(self, kind: str, *, conversation_id: str | None, seconds: float, steps: int,
                 error: str | None, stopped: str | None = None) -> None:
        """A turn ended: answered, or failed with a reason (a WARNING line); one cut short by a budget
        (its time limit, say) is answered, with a WARNING line naming the budget."""
        if self.metrics is not None:
            self.metrics.request(kind, "failed" if error else "answered")
            self.metrics.agent_run(seconds, steps)
        if error:
            self.line(logging.WARNING, "request.failed", kind=kind, conversation=conversation_id, reason=error,
                      seconds=round(seconds, 3))
        elif stopped:
            self.line(logging.WARNING, "request.stopped", kind=kind, conversation=conversation_id,
                      reason=f"{stopped} budget reached", seconds=round(seconds, 3))

    def crashed(self, kind: str, *, conversation_id: str | None, error: BaseException) -> None:
        """A turn raised: counted failed; the reason is the exception's type only (its text may quote data)."""
        if self.metrics is not None:
            self.metrics.request(kind, "failed")
        self.line(logging.WARNING, "request.failed", kind=kind, conversation=conversation_id,
                  reason=f"internal error ({type(error).__name__})")

    def refused(self, kind: str, *, user: str | None, reason: str, channel: str | None = None) -> None:
        if self.metrics is not None:
            self.metrics.request(kind, "refused")
        self.line(logging.INFO, "request.refused", kind=kind, user=user, channel=channel, reason=reason)

    # -- the audit log's hook -------------------------------------------------------------------------

    def audited(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Called with every batch of audit events once stored; never raises into the audit log."""
        if self.metrics is None and not self._on:
            return  # nothing to count or write: not even a look-up
        for event in events:
            try:
                self._audited(event)
            except Exception:  # noqa: BLE001 - the log of decisions must not fail what it observes
                self._log.debug("could not journal an audit event of kind %s", event.get("kind"), exc_info=True)

    def _audited(self, event: Mapping[str, Any]) -> None:
        kind, data = event.get("kind"), event.get("data") or {}
        if kind == "tool.call":
            if self.metrics is not None:
                self.metrics.tool_call(str(data.get("tool", "")), "ok" if data.get("error") is None else "failed")
        elif kind == "access.refused":
            self.refused(_ENTRY_KINDS.get(str(data.get("entry")), "other"), user=event.get("actor"),
                         reason=str(data.get("reason", "")))
        elif kind == "agent.refused":
            self.refused("other", user=event.get("actor"), reason=str(data.get("reason", "")))
        elif kind == "approval.refused":
            self.line(logging.INFO, "proposal.refused", id=event.get("proposal_id"), who=event.get("actor"),
                      reason=data.get("refused"))
        elif kind == "proposal.transition":
            self._transition(event, data)

    def _transition(self, event: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        before, after, pid, who = event.get("from_status"), event.get("to_status"), event.get("proposal_id"), \
            event.get("actor")
        if after is None or before == after:
            return
        if before is None:
            tool, risk = str(data.get("tool", "")), str(data.get("risk", ""))
            facts = None
        else:
            facts = self._lookup(str(pid)) if self._lookup is not None and pid else None
            tool, risk = (facts.tool, facts.risk) if facts is not None else ("", "")
        if self.metrics is not None:
            self.metrics.proposal(str(after), risk)
        if before is None:
            self.line(logging.INFO, "proposal.created", id=pid, tool=tool, risk=risk, who=who)
        elif before == "pending" and after in _DECIDED:
            if self.metrics is not None and facts is not None and facts.decided_at and after != "expired":
                self.metrics.decided((facts.decided_at - facts.created_at).total_seconds())
            self.line(logging.INFO, "proposal.decided", id=pid, tool=tool, risk=risk, who=who,
                      outcome=_DECIDED[after])
        elif before == "executing" and after in _EXECUTED:
            if self.metrics is not None:
                self.metrics.execution(str(after))
            self.line(logging.WARNING if after == "failed" else logging.INFO, "proposal.executed", id=pid, tool=tool,
                      risk=risk, who=who, outcome=after)


def _shown(value: Any) -> str:
    """A field as text: a value with spaces is quoted, so `key=value` pairs stay readable."""
    text = "-" if value is None else str(value)
    return f'"{text}"' if " " in text or not text else text
