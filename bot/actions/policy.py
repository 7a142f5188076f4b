"""Who may approve a proposal, from [approvals] in app.toml.

Four eyes by default: a requester approves their own proposal alone only for the risk levels in
`approvals.self_approval` (shipped: low), and never a high-risk one. Whoever approves must also be
allowed to read the record the proposal changes; a person who may not is refused whatever the
rules say, so an approval can never be a way to act on a record one cannot see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.access.scope import Scope
from bot.config import ApprovalsSection

# Answers "is this user a member of this channel?"; None where no one can tell (the terminal).
ChannelMembers = Callable[[str, str], bool]

_RULES_IN_WORDS = {"requester": "the requester", "channel_members": "members of the channel",
                   "record_owner": "the record's owner", "anyone": "anyone"}


@dataclass(frozen=True)
class Approver:
    """The person deciding, as the policy needs them."""

    user_id: str
    groups: frozenset[str] = frozenset()
    owner_id: str | None = None  # their CRM owner identity
    may_see_record: bool = True


@dataclass(frozen=True)
class Actor:
    """A person deciding on a proposal, as the trust model knows them: their groups, their CRM owner
    identity and the records they may see (None: every record)."""

    groups: frozenset[str] = frozenset()
    owner_id: str | None = None
    scope: Scope | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def rule_in_words(rule: str) -> str:
    kind, _, name = rule.partition(":")
    if kind == "group":
        return f"the {name} group"
    if kind == "user":
        return f"<@{name}>"
    return _RULES_IN_WORDS.get(rule, rule)


class ApprovalPolicy:
    """Rules per risk level, four eyes unless the risk level allows self-approval."""

    def __init__(self, section: ApprovalsSection) -> None:
        self._rules = {"low": section.low, "medium": section.medium, "high": section.high}
        self._self_approval = frozenset(section.self_approval) - {"high"}

    def rules(self, risk: str) -> tuple[str, ...]:
        """The rules of one risk level, as configured (for saying them in words on cards)."""
        return tuple(self._rules.get(risk, ()))

    def self_approves(self, risk: str) -> bool:
        """May a requester approve their own change of this risk level?"""
        return risk in self._self_approval

    def who(self, risk: str) -> str:
        """Who may approve this risk level, in words (for cards and refusals)."""
        return ", ".join(rule_in_words(r) for r in self._rules.get(risk, ())) or "nobody"

    def check(self, *, risk: str, requester: str, approver: Approver, channel: str | None,
              channel_members: ChannelMembers | None = None, record_owner: str | None = None) -> Verdict:
        user = approver.user_id
        if not approver.may_see_record:
            return Verdict(False, "you may not see the record this proposal changes, so you cannot decide on it")
        if user == requester and risk not in self._self_approval:
            return Verdict(False, f"a {risk}-risk change needs someone other than its requester to approve it "
                                  f"(allowed: {self.who(risk)})")
        for rule in self._rules.get(risk, ()):
            if self._matches(rule, requester=requester, approver=approver, channel=channel,
                             channel_members=channel_members, record_owner=record_owner):
                return Verdict(True, f"allowed by rule {rule} for {risk} risk")
        return Verdict(False, f"you may not approve {risk}-risk changes (allowed: {self.who(risk)})")

    @staticmethod
    def _matches(rule: str, *, requester: str, approver: Approver, channel: str | None,
                 channel_members: ChannelMembers | None, record_owner: str | None) -> bool:
        user = approver.user_id
        if rule == "anyone":
            return True
        if rule == "requester":
            return user == requester
        if rule == "channel_members":
            return bool(channel and channel_members is not None and channel_members(channel, user))
        if rule == "record_owner":
            return record_owner is not None and approver.owner_id == record_owner
        kind, _, name = rule.partition(":")
        if kind == "user":
            return user == name
        if kind == "group":
            return name in approver.groups
        return False
