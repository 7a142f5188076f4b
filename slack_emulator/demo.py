"""The workspace `python -m bot dev` serves: three people, three channels, a DM with the bot each.

The people's ids and e-mails are the ones app.toml's groups and the demo CRM's owners use, so the
trust model can be seen at work by switching between them: Alice is a sales manager (she sees
everything and approves medium- and high-risk changes), Bob a sales rep who owns deals, and Zed,
from support, a viewer who sees no rep's deals. #sales is the sales team's channel; Zed is in
#support and #general, where an answer about a deal goes to the asker privately.
"""

from __future__ import annotations

from slack_emulator.config import Channel, User

DEMO_USERS: tuple[User, ...] = (
    User("U01ALICE", "alice", "Alice Archer (sales manager)", "alice@example.com"),
    User("U02BOB", "bob", "Bob Baker (account executive)", "bob@example.com"),
    User("U09ZED", "zed", "Zed Zimmer (support)", "zed@example.com"),
)


def demo_channels(bot_user_id: str) -> tuple[Channel, ...]:
    """#sales (Alice and Bob), #support and #general (everyone), each with the bot."""
    everyone = (*(u.id for u in DEMO_USERS), bot_user_id)
    return (
        Channel("C0SALES", "sales", ("U01ALICE", "U02BOB", bot_user_id)),
        Channel("C0SUPPORT", "support", everyone),
        Channel("C0GENERAL", "general", everyone),
    )


def bot_handle(bot_name: str) -> str:
    """How people type the bot's name in a mention: "CRM copilot" -> "crm-copilot"."""
    return "-".join(bot_name.lower().split()) or "bot"
