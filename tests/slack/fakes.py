"""Fakes for listener tests: a Web API client that records calls, Bolt's ack and respond, and
SlackDeps whose services record what they are asked.

FakeSlack is a real AsyncWebClient whose one network method, `api_call`, answers from memory,
so the listeners, the Poster, Members and Bolt itself (auth.test) run unchanged, offline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.actions.operations import operations
from bot.actions.service import Decision
from bot.config import load_settings
from bot.slack.blocks.describe import Facts
from bot.slack.blocks.links import Links
from bot.slack.conversations import Incoming
from bot.access.people import FixedUsers, People
from bot.access.service import Access
from bot.slack.deps import SlackDeps
from bot.slack.members import Members
from bot.slack.poster import Poster
from bot.store.proposals import ProposalView

BOT_USER_ID = "UBOT"
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
PENDING = ProposalView(
    id="p1", conversation_id="slack:C0SALES:1.0", tool="update_deal", args={"deal_id": 7, "stage": "negotiation"},
    payload_hash="h" * 64, summary="Update deal 7: stage proposal -> negotiation",
    diff=[{"field": "stage", "before": "proposal", "after": "negotiation"}], risk="medium", requester="U02BOB",
    record_kind="deal", record_id=7, record_version=3, status="pending", created_at=NOW,
    expires_at=NOW + timedelta(hours=24), decided_by=None, decided_at=None, reason=None, result=None, error=None,
    supersedes_id=None, channel="C0SALES", message_ts="2.0")


class FakeSlack(AsyncWebClient):
    """Every Web API call recorded as (method, arguments); answers just enough for the bot."""

    def __init__(self, members: dict[str, list[str]] | None = None) -> None:
        super().__init__(token="xoxb-test", base_url="http://127.0.0.1:9/api/")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._members = members or {}

    async def api_call(self, api_method: str, *, http_verb: str = "POST", files: Any = None, data: Any = None,
                       params: Any = None, json: Any = None, headers: Any = None,
                       auth: Any = None) -> AsyncSlackResponse:
        args = {**(params or {}), **(data or {}), **(json or {})}
        self.calls.append((api_method, args))
        answer: dict[str, Any] = {"ok": True}
        if api_method == "auth.test":
            answer |= {"user_id": BOT_USER_ID, "bot_id": "BBOT", "team_id": "T1"}
        elif api_method in ("chat.postMessage", "chat.startStream"):
            answer |= {"channel": args.get("channel"), "ts": f"{len(self.calls)}.000100"}
        elif api_method == "conversations.open":  # a DM: "D" and the user id
            answer |= {"channel": {"id": f"D{args.get('users')}"}}
        elif api_method == "conversations.members":
            answer |= {"members": self._members.get(str(args.get("channel")), [])}
        return AsyncSlackResponse(client=self, http_verb=http_verb, api_url=api_method, req_args=args, data=answer,
                                  headers={}, status_code=200).validate()

    def made(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of one Web API method, in order."""
        return [args for name, args in self.calls if name == method]

    def streamed(self) -> str:
        """The markdown text of every streamed chunk, in order (what the reader saw appear)."""
        return "".join(chunk.get("text", "") for name, args in self.calls
                       if name in ("chat.startStream", "chat.appendStream", "chat.stopStream")
                       for chunk in args.get("chunks") or [] if chunk.get("type") == "markdown_text")


@dataclass
class Calls:
    """An async callable standing in for Bolt's ack or respond: records each call's keywords."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, text: str = "", **kwargs: Any) -> None:
        self.calls.append({"text": text, **kwargs} if text else kwargs)


class FakeRunner:
    """Keeps spawned jobs instead of running them, so a test sees the ack come first."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, Callable[[], Awaitable[Any]]]] = []

    def spawn(self, job: Callable[[], Awaitable[Any]], *, name: str) -> None:
        self.jobs.append((name, job))

    async def run_all(self) -> None:
        while self.jobs:
            await self.jobs.pop(0)[1]()


@dataclass
class FakeDecisions:
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    approvals: Any = None  # edits and lists go to the (fake) approval service, as the real ones do

    async def edit(self, proposal: ProposalView, user: str, changes: dict[str, str]) -> Decision:
        return self.approvals.edit(proposal.id, user=user, changes=changes, channel_members=None)

    owners: dict[str, str] = field(default_factory=lambda: {"U01ALICE": "alice", "U02BOB": "bob"})

    async def owner_for(self, slack_user: str) -> tuple[str | None, str]:
        owner = self.owners.get(slack_user)
        return owner, "" if owner else "Zed Zimmer has no CRM user (none with their e-mail), so cannot own records."

    async def facts(self, proposal: ProposalView) -> Facts:
        return Facts(records={("deal", 7): "Acme renewal"}, currencies={7: "EUR"})

    async def record_options(self, user: str, kind: str, query: str) -> list[tuple[int, str]]:
        self.calls.append(("record_options", user, kind, query))
        return [(3, "Henry Bennett · Acme")] if kind == "contact" and query else []

    async def awaiting(self, user: str) -> list[ProposalView]:
        return self.approvals.actionable_by(user, None)

    outsiders: frozenset[str] = frozenset()  # people who are not in any proposal's conversation

    async def part_of(self, proposal: ProposalView, user: str) -> bool:
        return user not in self.outsiders

    async def approve(self, proposal_id: str, user: str, respond: Any = None, place: Any = None) -> None:
        self.calls.append(("approve", proposal_id, user, respond))
        self.places.append(place)

    async def approve_all(self, ids: list[str], user: str, respond: Any = None, place: Any = None) -> None:
        self.calls.append(("approve_all", ids, user))
        self.places.append(place)

    async def follow_up(self, verb: str, proposal_id: str, user: str, respond: Any = None, place: Any = None) -> None:
        self.calls.append((verb, proposal_id, user, respond))
        self.places.append(place)

    places: list[Any] = field(default_factory=list)  # where each click happened

    async def reject(self, proposal_id: str, user: str, reason: str | None) -> None:
        self.calls.append(("reject", proposal_id, user, reason))

    async def refresh(self, proposal_id: str, respond: Any = None) -> None:
        self.calls.append(("refresh", proposal_id))

    async def after_edit(self, old: ProposalView, decision: Decision, user: str) -> None:
        self.calls.append(("after_edit", old.id, decision.outcome, user))


@dataclass
class FakeApprovals:
    proposals: dict[str, ProposalView] = field(default_factory=lambda: {"p1": PENDING})
    edit_decision: Decision = Decision("edited", "Saved as a new proposal.", replace(PENDING, id="p2"))
    edits: list[dict[str, Any]] = field(default_factory=list)

    def get(self, proposal_id: str) -> ProposalView | None:
        return self.proposals.get(proposal_id)

    def argument_model(self, tool: str) -> Any:
        return operations()[tool].args if tool in operations() else None

    def edit(self, proposal_id: str, *, user: str, changes: dict[str, str], channel_members: Any) -> Decision:
        self.edits.append({"id": proposal_id, "user": user, "changes": changes})
        return self.edit_decision

    def related(self, **filters: Any) -> list[ProposalView]:
        return [p for p in self.proposals.values() if p.conversation_id in filters.get("conversation_ids", ())]

    def pending(self) -> list[ProposalView]:
        return list(self.proposals.values())

    def actionable_by(self, user: str, checker: Any) -> list[ProposalView]:
        return [p for p in self.proposals.values() if p.requester != user]


@dataclass
class FakeConversations:
    known: set[str] = field(default_factory=set)
    accepted: list[Incoming] = field(default_factory=list)

    async def accept(self, request: Incoming, destination: Any) -> bool:
        self.accepted.append(request)
        return True

    async def knows(self, conversation_id: str) -> bool:
        return conversation_id in self.known

    def shown(self, conversation_id: str | None, summary: str) -> str:
        return summary


class FakeRatings:
    """Ratings keyed by (request, user), as the store keeps them: a repeated click changes nothing."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], str] = {}
        self.comments: list[tuple[str, str, str]] = []

    async def rate(self, request_key: str, *, user: str, rating: str) -> str:
        before = self.stored.get((request_key, user))
        self.stored[(request_key, user)] = rating
        return "new" if before is None else "same" if before == rating else "changed"

    async def comment(self, request_key: str, *, user: str, text: str) -> bool:
        self.comments.append((request_key, user, text))
        return True


class NoRequests:
    def recent(self, user: str, *, limit: int) -> list[Any]:
        return []


class NoDigests:
    class store:  # noqa: N801 - stands in for the DigestService's store attribute
        @staticmethod
        def subscriptions() -> list[Any]:
            return []


@dataclass
class Bench:
    """What a listener test looks at: the deps given to the listener, and the fakes behind them."""

    deps: SlackDeps
    slack: FakeSlack
    runner: FakeRunner
    decisions: FakeDecisions
    approvals: FakeApprovals
    conversations: FakeConversations
    ratings: FakeRatings

    @property
    def context(self) -> dict[str, Any]:
        return {"deps": self.deps}


def make_bench() -> Bench:
    """SlackDeps of fakes around a FakeSlack client, with one pending proposal (p1, by U02BOB)."""
    slack, runner, decisions = FakeSlack({"C0SALES": ["U01ALICE", "U02BOB"]}), FakeRunner(), FakeDecisions()
    approvals, conversations, ratings = FakeApprovals(), FakeConversations(), FakeRatings()
    decisions.approvals = approvals
    settings = load_settings(ROOT / "app.toml", env={})
    # Everyone is a member of the workspace here; the door itself is tested in tests/slack/test_door.py.
    access = Access(People(FixedUsers(unknown_is_member=True), list, groups=settings.groups), settings.access)
    deps = SlackDeps(settings=settings, bot_user_id=BOT_USER_ID, access=access, approvals=approvals,
                     crm=None,  # type: ignore[arg-type]
                     digests=NoDigests(), conversations=conversations, decisions=decisions,  # type: ignore[arg-type]
                     members=Members(slack), poster=Poster(slack), requests=NoRequests(),  # type: ignore[arg-type]
                     runner=runner, links=Links.from_settings("", "", ()),
                     ratings=ratings)  # type: ignore[arg-type]
    return Bench(deps, slack, runner, decisions, approvals, conversations, ratings)
