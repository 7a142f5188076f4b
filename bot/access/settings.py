"""The `[people]` and `[access]` sections of app.toml: groups, the door's switches and the roles.

Kept apart from bot/config.py so the trust model reads in one place; bot/config.py includes these
sections in Settings. Every value is validated here, so a typo in a role or a rule is refused at
start-up with one line naming the key.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

USER_ID = re.compile(r"[A-Z0-9]+")
GROUP_NAME = re.compile(r"[a-z0-9_-]+")
Visibility = Literal["own", "team", "all"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_groups(value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Group names in a-z0-9_-; members are Slack user ids."""
    for name, members in value.items():
        if not GROUP_NAME.fullmatch(name):
            raise ValueError(f'group names use a-z, 0-9, - and _, got "{name}"')
        bad = [m for m in members if not USER_ID.fullmatch(m)]
        if bad:
            raise ValueError(f'group "{name}": expected Slack user ids such as U0123ABCD, got "{bad[0]}"')
    return value


class PeopleSection(_Section):
    """Who is who: Slack profiles (cached), groups, and the Slack user groups to read them from."""

    cache_seconds: float = Field(300.0, ge=0, le=86_400)
    groups: dict[str, tuple[str, ...]] = {}
    # group name -> Slack user group handle (read with usergroups.users.list, needs usergroups:read)
    slack_user_groups: dict[str, str] = {}
    # Slack user id -> e-mail, for the terminal when Slack cannot be asked (no SLACK_BOT_TOKEN);
    # with Slack, users.info is asked instead.
    emails: dict[str, str] = {}

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: dict[str, str]) -> dict[str, str]:
        for user, email in value.items():
            if not USER_ID.fullmatch(user) or not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
                raise ValueError(f'expected U0123ABCD = "name@example.com", got {user} = "{email}"')
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return check_groups(value)

    @field_validator("slack_user_groups")
    @classmethod
    def _handles(cls, value: dict[str, str]) -> dict[str, str]:
        for name, handle in value.items():
            if not GROUP_NAME.fullmatch(name):
                raise ValueError(f'group names use a-z, 0-9, - and _, got "{name}"')
            if not re.fullmatch(r"@?[a-z0-9._-]+", handle):
                raise ValueError(f'group "{name}": expected a Slack user group handle such as "sales-team"')
        return value


class RoleConfig(_Section):
    """What the members of one role may do."""

    see: Visibility = "team"  # own: records they own; team: owned by anyone of their groups; all
    propose: bool = True  # may ask for changes (proposals)
    digests: bool = False  # may subscribe, unsubscribe and run digests
    audit: bool = False  # may read audit trails


DEFAULT_ROLES = {
    "viewer": RoleConfig(see="team", propose=False),
    "rep": RoleConfig(see="team", propose=True),
    "manager": RoleConfig(see="all", propose=True, digests=True),
    "auditor": RoleConfig(see="all", propose=False, audit=True),
}


class AccessSection(_Section):
    """The door (who may use the bot at all) and the roles (what each person may see and do)."""

    guests: bool = False  # let multi- and single-channel guests in
    shared_channels: bool = False  # answer in externally shared channels and let Slack Connect users in
    allowed_teams: tuple[str, ...] = ()  # further workspace ids (Enterprise Grid) whose members may use the bot
    default_role: str = "rep"
    unowned: bool = True  # records without an owner are visible to everyone who passes the door
    roles: dict[str, RoleConfig] = Field(default_factory=lambda: dict(DEFAULT_ROLES))
    # role -> members ("U0123ABCD" or "group:NAME"); the first role (in this order) that lists a person wins
    members: dict[str, tuple[str, ...]] = {}

    @field_validator("roles", mode="before")
    @classmethod
    def _over_defaults(cls, value: object) -> object:
        # A role defined in app.toml replaces the shipped one of that name; the others stay.
        return {**DEFAULT_ROLES, **value} if isinstance(value, dict) else value

    @field_validator("allowed_teams")
    @classmethod
    def _teams(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for team in value:
            if not re.fullmatch(r"[TE][A-Z0-9]+", team):
                raise ValueError(f'expected Slack team ids such as T0123ABCD, got "{team}"')
        return value

    @field_validator("members")
    @classmethod
    def _member_keys(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for role, members in value.items():
            for member in members:
                kind, _, name = member.partition(":")
                if not (USER_ID.fullmatch(member) or (kind == "group" and GROUP_NAME.fullmatch(name))):
                    raise ValueError(f'role "{role}": expected a Slack user id or group:NAME, got "{member}"')
        return value

    @model_validator(mode="after")
    def _known_roles(self) -> AccessSection:
        if self.default_role not in self.roles:
            raise ValueError(f'default_role: "{self.default_role}" is not a role ({", ".join(sorted(self.roles))})')
        unknown = sorted(set(self.members) - set(self.roles))
        if unknown:
            raise ValueError(f'members: "{unknown[0]}" is not a role ({", ".join(sorted(self.roles))})')
        return self
