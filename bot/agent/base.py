"""What the agent needs from outside it: the conversation history and where write proposals go.

The agent knows of a write only that it needs approval: it hands the call to a ProposalSink (the
approval service) and gets the stored proposal back, or a PlanError saying why it cannot be made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.records import ProposalView


@dataclass(frozen=True)
class HistoryTurn:
    """One turn of a conversation as stored: masked text and its estimated tokens."""

    role: str
    content: str
    tokens: int


class History(Protocol):
    """The conversations' stored turns (masked)."""

    def ensure(self, conversation_id: str, *, channel: str | None = None, thread_ts: str | None = None,
               started_by: str | None = None) -> bool:
        """Create the conversation unless it exists; True if this call created it."""
        ...

    def recent(self, conversation_id: str, *, token_budget: int) -> Sequence[Any]: ...

    def append(self, conversation_id: str, turns: Sequence[Any]) -> None: ...


class ProposalSink(Protocol):
    """Where a write tool's call goes: planned and stored as a proposal a person must approve."""

    def propose_call(self, tool: str, raw_args: Mapping[str, Any], *, requester: str,
                     conversation_id: str | None = None, channel: str | None = None,
                     supersedes: str | None = None, reader: Any = None, owner: str | None = None) -> ProposalView:
        """The stored proposal; raises PlanError (or CrmError) when the write cannot be proposed."""
        ...
