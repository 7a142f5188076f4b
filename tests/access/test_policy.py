"""The approval policy, table-driven: four eyes by default, record owners, groups, visibility."""

from __future__ import annotations

import pytest

from bot.actions.policy import ApprovalPolicy, Approver
from bot.config import ApprovalsSection

SHIPPED = ApprovalsSection()  # low: requester, channel_members; medium: record_owner, managers; high: managers
BOB = Approver("U02BOB", frozenset({"sales"}), owner_id="bob")
ALICE = Approver("U01ALICE", frozenset({"sales", "managers"}), owner_id="alice")
ZED = Approver("U09ZED", frozenset(), owner_id=None)
CAROL = Approver("U03CAROL", frozenset({"sales"}), owner_id="carol")
BLIND_ALICE = Approver("U01ALICE", frozenset({"managers"}), owner_id="alice", may_see_record=False)


def in_sales(channel: str, user: str) -> bool:
    return channel == "C1" and user in {"U02BOB", "U09ZED", "U03CAROL"}


@pytest.mark.parametrize(("risk", "requester", "approver", "owner", "allowed"), [
    # low: the requester alone, or a member of the channel
    ("low", "U02BOB", BOB, "bob", True),
    ("low", "U02BOB", ZED, "bob", True),
    # medium: nobody approves their own change, even the record's owner or a manager
    ("medium", "U02BOB", BOB, "bob", False),
    ("medium", "U09ZED", ZED, "bob", False),
    ("medium", "U01ALICE", ALICE, "bob", False),
    # medium: the record's owner approves someone else's change; a manager does; others do not
    ("medium", "U09ZED", BOB, "bob", True),
    ("medium", "U09ZED", ALICE, "bob", True),
    ("medium", "U09ZED", CAROL, "bob", False),
    ("medium", "U09ZED", CAROL, None, False),
    # high: managers only, never the requester
    ("high", "U02BOB", ALICE, "bob", True),
    ("high", "U01ALICE", ALICE, "alice", False),
    ("high", "U09ZED", BOB, "bob", False),
    # an approver who may not see the record is refused whatever the rules say
    ("medium", "U02BOB", BLIND_ALICE, "bob", False),
    ("high", "U02BOB", BLIND_ALICE, "bob", False),
])
def test_shipped_policy(risk: str, requester: str, approver: Approver, owner: str | None, allowed: bool) -> None:
    verdict = ApprovalPolicy(SHIPPED).check(risk=risk, requester=requester, approver=approver, channel="C1",
                                            channel_members=in_sales, record_owner=owner)
    assert verdict.allowed is allowed, verdict.reason


def test_self_approval_can_be_widened_but_never_for_high_risk() -> None:
    loose = ApprovalsSection(medium=("requester",), high=("requester", "anyone"), self_approval=("low", "medium", "high"))
    policy = ApprovalPolicy(loose)
    assert policy.check(risk="medium", requester="U02BOB", approver=BOB, channel=None).allowed
    verdict = policy.check(risk="high", requester="U02BOB", approver=BOB, channel=None)
    assert not verdict.allowed and "someone other than its requester" in verdict.reason


def test_channel_members_rule_needs_membership_at_decision_time() -> None:
    policy = ApprovalPolicy(SHIPPED)
    assert policy.check(risk="low", requester="U01ALICE", approver=ZED, channel="C1", channel_members=in_sales).allowed
    left = policy.check(risk="low", requester="U01ALICE", approver=ZED, channel="C1",
                        channel_members=lambda channel, user: False)
    assert not left.allowed
    assert not policy.check(risk="low", requester="U01ALICE", approver=ZED, channel=None).allowed


def test_refusal_names_who_may_approve_in_words() -> None:
    verdict = ApprovalPolicy(SHIPPED).check(risk="medium", requester="U09ZED", approver=CAROL, channel="C1",
                                            record_owner="bob")
    assert "the record's owner, the managers group" in verdict.reason
