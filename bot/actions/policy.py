"""Who may approve a proposal, from [approvals] in app.toml."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import ApprovalsSection

# Answers "is this user a member of this channel?"; None where no one can tell (the terminal).
ChannelMembers = Callable[[str, str], bool]


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


class ApprovalPolicy:
    """Rules per risk level; a high-risk action is never approved by its requester."""

    def __init__(self, section: ApprovalsSection) -> None:
        self._rules = {"low": section.low, "medium": section.medium, "high": section.high}
        self._groups = {name: set(members) for name, members in section.groups.items()}

    def check(self, *, risk: str, requester: str, user: str, channel: str | None,
              channel_members: ChannelMembers | None = None) -> Verdict:
        if risk == "high" and user == requester:
            return Verdict(False, "a high-risk action must be approved by someone other than its requester")
        for rule in self._rules.get(risk, ()):
            if self._matches(rule, requester=requester, user=user, channel=channel, channel_members=channel_members):
                return Verdict(True, f"allowed by rule {rule} for {risk} risk")
        allowed = ", ".join(self._rules.get(risk, ())) or "nobody"
        return Verdict(False, f"you may not approve {risk}-risk actions (allowed: {allowed})")

    def _matches(self, rule: str, *, requester: str, user: str, channel: str | None,
                 channel_members: ChannelMembers | None) -> bool:
        if rule == "anyone":
            return True
        if rule == "requester":
            return user == requester
        if rule == "channel_members":
            return bool(channel and channel_members is not None and channel_members(channel, user))
        kind, _, name = rule.partition(":")
        if kind == "user":
            return user == name
        if kind == "group":
            return user in self._groups.get(name, set())
        return False
