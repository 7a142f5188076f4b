"""Who the emulated workspace is: its ids, tokens, people and conversations.

Everything here is plain data so the same emulator can be built for a test, a benchmark or the
local dev page, each with a workspace of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class User:
    """A person in the workspace; `name` is the handle (`alice`), as Slack's `name` field."""

    id: str
    name: str
    real_name: str = ""
    email: str = ""
    is_bot: bool = False
    tz: str = "UTC"
    team_id: str = ""  # another workspace's id for a Slack Connect user; empty: the emulated workspace
    is_restricted: bool = False  # multi-channel guest
    is_ultra_restricted: bool = False  # single-channel guest
    is_stranger: bool = False  # a Slack Connect user the workspace shares no channel membership with
    deleted: bool = False


@dataclass(frozen=True)
class Channel:
    """A conversation: a channel (`name` without '#') or, with `user` set, the DM with that user."""

    id: str
    name: str
    members: tuple[str, ...] = ()
    is_private: bool = False
    user: str | None = None  # the other party of a DM; None for channels
    is_ext_shared: bool = False  # shared with another organisation (Slack Connect)

    @property
    def is_im(self) -> bool:
        return self.user is not None

    @property
    def channel_type(self) -> str:
        """The `channel_type` Slack puts on message events from this conversation."""
        return "im" if self.is_im else ("group" if self.is_private else "channel")


DEFAULT_USERS: tuple[User, ...] = (
    User("U01ALICE", "alice", "Alice Archer", "alice@example.com"),
    User("U02BOB", "bob", "Bob Baker", "bob@example.com"),
    User("U03CAROL", "carol", "Carol Chen", "carol@example.com"),
    User("U09ZED", "zed", "Zed Zimmer", "zed@example.com"),
)

# The subscriptions of the app's manifest: Slack only sends what the app subscribed to.
DEFAULT_BOT_EVENTS: frozenset[str] = frozenset(
    {"app_mention", "message.im", "message.channels", "message.groups", "app_home_opened"}
)


def dm_id(user_id: str) -> str:
    """The id of the bot's DM with a user: U01ALICE -> D01ALICE."""
    return "D" + user_id[1:]


def default_channels(users: Iterable[User], bot_user_id: str) -> tuple[Channel, ...]:
    """#sales (the first three people and the bot) and #general (everyone and the bot)."""
    ids = [u.id for u in users if not u.is_bot]
    return (
        Channel("C0SALES", "sales", (*ids[:3], bot_user_id)),
        Channel("C0GENERAL", "general", (*ids, bot_user_id)),
    )


def with_dms(users: Iterable[User], channels: Iterable[Channel], bot_user_id: str) -> list[Channel]:
    """`channels` plus a DM with the bot for every person who has none yet."""
    result = list(channels)
    have = {c.user for c in result if c.is_im}
    for user in users:
        if not user.is_bot and user.id not in have:
            result.append(Channel(dm_id(user.id), user.name, (user.id, bot_user_id), user=user.id))
    return result


@dataclass(frozen=True)
class EmulatorConfig:
    """The identity and behaviour knobs of one emulator; see `SlackEmulator` for their meaning."""

    host: str = "127.0.0.1"
    port: int = 0
    bot_token: str = "xoxb-emulator"
    app_token: str = "xapp-emulator"
    signing_secret: str = "emulator-signing-secret"
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    team_id: str = "T0EMU"
    team_domain: str = "emulator"
    app_id: str = "A0EMU"
    bot_name: str = "crm-copilot"
    verification_token: str = "emulator-verification-token"
    ack_timeout: float = 3.0
    max_retries: int = 3
    connect_timeout: float = 10.0
    trigger_ttl: float = 3.0
    bot_events: frozenset[str] = field(default=DEFAULT_BOT_EVENTS)
