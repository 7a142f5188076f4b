"""The workspace `python -m bot dev` serves: three people, three channels, a DM with the bot each.

The people's ids are the ones app.toml's approval groups name, so the approval policy can be
seen at work by switching between them: Alice is in `sales` and `managers` (she may approve
high-risk actions), Bob is in `sales`, and Zed, from support, is in neither group.
"""

from __future__ import annotations

from slack_emulator.config import Channel, User

DEMO_USERS: tuple[User, ...] = (
    User("U01ALICE", "alice", "Alice Archer (sales manager)", "alice@example.com"),
    User("U02BOB", "bob", "Bob Baker (account executive)", "bob@example.com"),
    User("U09ZED", "zed", "Zed Zimmer (support)", "zed@example.com"),
)


def demo_channels(bot_user_id: str) -> tuple[Channel, ...]:
    """#sales, #support and #general, each with every demo person and the bot."""
    everyone = (*(u.id for u in DEMO_USERS), bot_user_id)
    return (
        Channel("C0SALES", "sales", everyone),
        Channel("C0SUPPORT", "support", everyone),
        Channel("C0GENERAL", "general", everyone),
    )


def bot_handle(bot_name: str) -> str:
    """How people type the bot's name in a mention: "CRM copilot" -> "crm-copilot"."""
    return "-".join(bot_name.lower().split()) or "bot"
