"""manifest.yml matches what the app listens to and uses."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _listened_events() -> set[str]:
    found = set()
    registry = ROOT / "bot" / "slack" / "app.py"  # where every listener is registered
    for node in ast.walk(ast.parse(registry.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "event"
                and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
    return found


def test_manifest_subscribes_to_what_the_listeners_handle() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    listened = _listened_events()
    assert listened == {"app_mention", "message", "app_home_opened", "member_joined_channel", "member_left_channel",
                        "user_change"}
    assert {"app_mention", "message.im", "app_home_opened", "member_left_channel", "user_change"} <= events
    assert {e.split(".")[0] for e in events} == listened  # nothing subscribed that nobody handles
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "im:history", "chat:write", "commands", "channels:read", "users:read",
            "users:read.email"} <= scopes
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/crm"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_the_agent_view_describes_the_bot_and_suggests_the_prompts_the_bot_sets() -> None:
    from bot.slack.blocks.prompts import GENERAL, suggested

    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    agent = manifest["features"]["agent_view"]
    assert "assistant_view" not in manifest["features"]  # the legacy view, replaced on 2026-06-30
    assert 0 < len(agent["agent_description"]) <= 300
    assert agent["suggested_prompts"] == [{"title": t, "message": m} for t, m in GENERAL] == suggested()
    assert "assistant:write" in manifest["oauth_config"]["scopes"]["bot"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
