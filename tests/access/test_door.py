"""The door, table-driven: who gets in with the shipped settings and with each switch on."""

from __future__ import annotations

import pytest

from bot.access.door import refusal
from bot.access.people import Person, Profile
from bot.access.settings import AccessSection

HOME = ("T01HOME",)


def person(**flags: object) -> Person:
    team = flags.pop("team", "T01HOME")
    return Person(Profile("U1", "Someone", team_id=team, **flags), frozenset(), None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("who", "where", "reason"), [
    (person(), {}, None),
    (None, {}, "unknown user"),
    (person(bot=True), {}, "bot"),
    (person(deleted=True), {}, "deactivated user"),
    (person(guest=True), {}, "guest"),
    (person(stranger=True), {}, "Slack Connect user"),
    (person(team="T09OTHER"), {}, "user of another workspace"),
    (person(), {"user_team": "T09OTHER"}, "user of another workspace"),
    (person(), {"channel_shared": True}, "externally shared channel"),
])
def test_shipped_door(who: Person | None, where: dict, reason: str | None) -> None:
    assert refusal(who, AccessSection(), home_teams=HOME, **where) == reason


@pytest.mark.parametrize(("switches", "who", "where", "reason"), [
    ({"guests": True}, person(guest=True), {}, None),
    ({"guests": True}, person(stranger=True), {}, "Slack Connect user"),
    ({"shared_channels": True}, person(stranger=True), {"channel_shared": True}, None),
    ({"shared_channels": True}, person(guest=True), {}, "guest"),
    ({"allowed_teams": ("T02GRID",)}, person(team="T02GRID"), {}, None),
    ({"shared_channels": True, "guests": True}, person(bot=True), {}, "bot"),
])
def test_switches(switches: dict, who: Person, where: dict, reason: str | None) -> None:
    access = AccessSection(**switches)
    home = (*HOME, *access.allowed_teams)
    assert refusal(who, access, home_teams=home, **where) == reason


def test_terminal_has_no_team_to_check() -> None:
    assert refusal(person(team="T09OTHER"), AccessSection(), home_teams=()) is None
