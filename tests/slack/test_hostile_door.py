"""Attacks by a guest (and a Slack Connect stranger) on the new surfaces, through the whole Bolt app:
Revert, Propose again, the feedback buttons, the Edit form's record search and its submission
reach no listener: the door refuses them first, and nothing is decided, searched or recorded."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from bot.access.people import FixedUsers, People, Profile
from bot.access.service import Access
from bot.slack.blocks.edit_form import EDIT_VIEW, RECORD
from bot.slack.blocks.feedback import FEEDBACK
from bot.slack.blocks.outcomes import PROPOSE_AGAIN, REVERT
from tests.slack.fakes import Bench, make_bench
from tests.slack.test_app import dispatch

GUEST, STRANGER, MEMBER = "U07GUEST", "U08STRANGER", "U02BOB"
PROFILES = [Profile(GUEST, "Gina Guest", "gina@partner.example", team_id="T1", guest=True),
            Profile(STRANGER, "Sam Stranger", "sam@other.example", team_id="T9"),
            Profile(MEMBER, "Bob Baker", "bob@example.com", team_id="T1")]


def _bench() -> Bench:
    bench = make_bench()
    settings = bench.deps.settings
    access = Access(People(FixedUsers(PROFILES), list, groups=settings.groups), settings.access, home_teams=("T1",))
    return dataclasses.replace(bench, deps=dataclasses.replace(bench.deps, access=access))


def _click(user: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1", "user": {"id": user, "team_id": "T1"},
            "trigger_id": "t1", "container": {"type": "message", "channel_id": "C0SALES", "message_ts": "2.0"},
            "channel": {"id": "C0SALES"}, "actions": [{"type": "button", "action_id": action_id, "block_id": "b",
                                                       "value": value}]}


def _search(user: str) -> dict[str, Any]:
    return {"type": "block_suggestion", "team": {"id": "T1"}, "api_app_id": "A1", "user": {"id": user, "team_id": "T1"},
            "block_id": "contact_id", "action_id": RECORD, "value": "Hen", "view": {"id": "V1"}}


def _submit(user: str) -> dict[str, Any]:
    return {"type": "view_submission", "team": {"id": "T1"}, "api_app_id": "A1", "user": {"id": user, "team_id": "T1"},
            "view": {"id": "V1", "type": "modal", "callback_id": EDIT_VIEW, "private_metadata": "p1",
                     "state": {"values": {"stage": {"value": {"type": "static_select",
                                                              "selected_option": {"value": "closed_won"}}}}}}}


ATTACKS = {
    "revert": lambda u: _click(u, REVERT, "p1"),
    "propose again": lambda u: _click(u, PROPOSE_AGAIN, "p1"),
    "feedback": lambda u: _click(u, FEEDBACK, "down C0SALES:5.0"),
    "record search": _search,
    "edit submission": _submit,
}


@pytest.mark.parametrize("user", [GUEST, STRANGER])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_guest_or_stranger_reaches_no_listener_on_the_new_surfaces(user: str, attack: str) -> None:
    bench = _bench()
    asyncio.run(dispatch(bench, ATTACKS[attack](user)))
    jobs = [name for name, _ in bench.runner.jobs]
    assert f"refusal {user}" in jobs  # the door refused it (and audits that)...
    assert [j for j in jobs if not j.startswith(("refusal ", "tell "))] == []  # ...and started nothing else
    assert bench.decisions.calls == [] and bench.ratings.stored == {} and bench.slack.made("views.open") == []


@pytest.mark.parametrize("attack", ["revert", "propose again", "feedback", "record search"])
def test_a_member_gets_through_the_same_requests(attack: str) -> None:
    """The control: the same payloads from a member reach their listeners (the attack test can fail)."""
    bench = _bench()
    asyncio.run(dispatch(bench, ATTACKS[attack](MEMBER)))
    jobs = [name for name, _ in bench.runner.jobs]
    assert not any(j.startswith("refusal") for j in jobs)
    assert jobs or bench.decisions.calls or bench.ratings.stored
