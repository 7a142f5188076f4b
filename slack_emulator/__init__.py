"""A local Slack: Web API, Socket Mode, signed HTTP delivery and response URLs on loopback.

It lets the real bot (Bolt, slack_sdk) run end to end with no Slack account: tests drive it as
people would (post, mention, click, submit) and assert on what the bot did; `python -m bot dev`
serves the same workspace to a browser. It depends on the standard library and aiohttp only.

    async with SlackEmulator() as emu:                  # in an event loop
        client = AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url)

    with EmulatorThread(ack_timeout=1.0) as emu:        # from synchronous tests
        emu.user_message("alice", "#sales", "<@UBOT> hi")
        emu.wait_for(lambda e: e.messages("#sales")[-1].bot_id, what="the bot's reply")
"""

from slack_emulator.config import Channel, EmulatorConfig, User
from slack_emulator.http_delivery import sign
from slack_emulator.records import (
    Ack,
    Call,
    Connection,
    Delivery,
    EmulatorError,
    Ephemeral,
    Posted,
    PostedMessage,
    ResponsePost,
    View,
)
from slack_emulator.server import SlackEmulator
from slack_emulator.thread import EmulatorThread

__all__ = [
    "Ack",
    "Call",
    "Channel",
    "Connection",
    "Delivery",
    "EmulatorConfig",
    "EmulatorError",
    "EmulatorThread",
    "Ephemeral",
    "Posted",
    "PostedMessage",
    "ResponsePost",
    "SlackEmulator",
    "User",
    "View",
    "sign",
]
