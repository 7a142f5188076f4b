"""The JSON Slack sends an app: event callbacks, slash command forms, interaction payloads.

Pure functions of the workspace's data, shaped like Slack's own payloads field by field, so the
app's parsing (Bolt's and the bot's) meets what production sends rather than a convenient subset.
"""

from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo
import hashlib
import re
from typing import Any

from slack_emulator.config import Channel, EmulatorConfig, User
from slack_emulator.records import EmulatorError

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack's clients attach to what a person types (mentions as user elements)."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for m in MENTION.finditer(text):
        if m.start() > pos:
            elements.append({"type": "text", "text": text[pos : m.start()]})
        elements.append({"type": "user", "user_id": m.group(1)})
        pos = m.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": hashlib.sha1(text.encode()).hexdigest()[:5], "elements": [section]}]


def message_event(stored: dict[str, Any], channel: Channel) -> dict[str, Any]:
    """A `message` event for a stored message (message.im / message.channels / message.groups)."""
    event = copy.deepcopy(stored)
    event.pop("reply_count", None)
    event.update(channel=channel.id, event_ts=stored["ts"], channel_type=channel.channel_type)
    return event


def app_mention_event(stored: dict[str, Any], channel: Channel) -> dict[str, Any]:
    event = {k: copy.deepcopy(v) for k, v in stored.items() if k in ("client_msg_id", "user", "bot_id", "text", "ts", "team", "blocks", "thread_ts")}
    event.update(type="app_mention", channel=channel.id, event_ts=stored["ts"])
    return event


def event_callback(cfg: EmulatorConfig, event: dict[str, Any], *, event_id: str, event_time: int,
                   ext_shared: bool = False) -> dict[str, Any]:
    """The outer `event_callback` wrapper every Events API delivery has."""
    return {
        "token": cfg.verification_token,
        "team_id": cfg.team_id,
        "context_team_id": cfg.team_id,
        "context_enterprise_id": None,
        "api_app_id": cfg.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {"enterprise_id": None, "team_id": cfg.team_id, "user_id": cfg.bot_user_id, "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": ext_shared,
        "event_context": f"4-emulator-{event_id}",
    }


def command(cfg: EmulatorConfig, *, user: User, channel: Channel, command: str, text: str, trigger_id: str, response_url: str) -> dict[str, str]:
    """A slash command's form fields (all strings, as Slack posts them)."""
    return {
        "token": cfg.verification_token,
        "team_id": cfg.team_id,
        "team_domain": cfg.team_domain,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.is_im else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": cfg.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def user_ref(cfg: EmulatorConfig, user: User) -> dict[str, str]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id or cfg.team_id}


def team(cfg: EmulatorConfig) -> dict[str, str]:
    return {"id": cfg.team_id, "domain": cfg.team_domain}


def find_element(blocks: list[dict[str, Any]], action_id: str, block_id: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) of the interactive element with `action_id`, wherever Slack allows it.

    Slack wants action_ids unique only within a block, so `block_id` picks one of several."""
    for block in blocks or []:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        candidates = list(block.get("elements") or []) if block.get("type") in ("actions", "context_actions") else []
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id", ""), element
    return None


def button_action(
    blocks: list[dict[str, Any]], action_id: str, value: str | None, action_ts: str, where: str, block_id: str | None = None,
) -> dict[str, Any]:
    """The `actions[0]` of a click on the button `action_id` (in block `block_id`, if given); fails loudly if absent."""
    found = find_element(blocks, action_id, block_id)
    if found is None:
        ids = [e.get("action_id") for b in blocks or [] for e in (b.get("elements") or []) + [b.get("accessory") or {}] if isinstance(e, dict)]
        raise EmulatorError(f"no element with action_id {action_id!r} in {where}; action_ids there: {[i for i in ids if i]}")
    block_id, element = found
    if element.get("type") == "feedback_buttons":
        return _feedback_action(element, action_id, block_id, value, action_ts, where)
    if element.get("type") != "button":
        raise EmulatorError(f"{action_id!r} in {where} is a {element.get('type')}, not a button")
    action = {
        "action_id": action_id,
        "block_id": block_id,
        "text": copy.deepcopy(element.get("text")),
        "value": value if value is not None else element.get("value"),
        "type": "button",
        "action_ts": action_ts,
    }
    if "style" in element:
        action["style"] = element["style"]
    if value is None and "value" not in element:
        del action["value"]
    return action


def _feedback_action(element: dict[str, Any], action_id: str, block_id: str, value: str | None, action_ts: str,
                     where: str) -> dict[str, Any]:
    """A click on one of the two feedback buttons: `value` says which (the positive or negative one's)."""
    values = {(element.get(side) or {}).get("value"): side for side in ("positive_button", "negative_button")}
    if value not in values:
        raise EmulatorError(f"feedback_buttons {action_id!r} in {where}: value must be one of {sorted(v for v in values if v)}")
    button = element[values[value]]
    return {"action_id": action_id, "block_id": block_id, "type": "feedback_buttons", "value": value,
            "text": copy.deepcopy(button.get("text")), "action_ts": action_ts}


def block_actions(
    cfg: EmulatorConfig,
    *,
    user: User,
    container: dict[str, Any],
    action: dict[str, Any],
    trigger_id: str,
    channel: Channel | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_ref(cfg, user),
        "api_app_id": cfg.app_id,
        "token": cfg.verification_token,
        "container": container,
        "trigger_id": trigger_id,
        "team": team(cfg),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if channel is not None:
        payload["channel"] = {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name}
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    payload["state"] = {"values": (view or {}).get("state", {}).get("values", {})}
    if response_url is not None:
        payload["response_url"] = response_url
    payload["actions"] = [action]
    return payload


def view_submission(cfg: EmulatorConfig, *, user: User, view: dict[str, Any], values: dict[str, dict[str, Any]], trigger_id: str,
                    offered: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    submitted = copy.deepcopy(view)
    submitted["state"] = {"values": state_values(view.get("blocks") or [], values, offered=offered, tz=user.tz)}
    return {
        "type": "view_submission",
        "team": team(cfg),
        "user": user_ref(cfg, user),
        "api_app_id": cfg.app_id,
        "token": cfg.verification_token,
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(cfg: EmulatorConfig, *, user: User, view: dict[str, Any], cleared: bool) -> dict[str, Any]:
    return {
        "type": "view_closed",
        "team": team(cfg),
        "user": user_ref(cfg, user),
        "api_app_id": cfg.app_id,
        "token": cfg.verification_token,
        "view": copy.deepcopy(view),
        "is_cleared": cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def block_suggestion(cfg: EmulatorConfig, *, user: User, view: dict[str, Any], block_id: str, action_id: str,
                     value: str) -> dict[str, Any]:
    """What Slack sends when a person types into an external_select: the app answers with options."""
    return {
        "type": "block_suggestion",
        "user": user_ref(cfg, user),
        "container": {"type": "view", "view_id": view.get("id")},
        "api_app_id": cfg.app_id,
        "token": cfg.verification_token,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": team(cfg),
        "view": copy.deepcopy(view),
        "enterprise": None,
        "is_enterprise_install": False,
    }


def state_values(blocks: list[dict[str, Any]], values: dict[str, dict[str, Any]], *,
                 offered: dict[str, list[dict[str, Any]]] | None = None, tz: str = "UTC") -> dict[str, dict[str, Any]]:
    """`view.state.values`: every input of the view, with `values` ({block_id: {action_id: v}}) filled in.

    An external_select's value must be one of the options the app offered for its block (`offered`)
    or its initial option; a datetimepicker's may be given as local "YYYY-MM-DDTHH:MM" in the
    person's time zone `tz` (what a browser's date-time input gives), sent on as UNIX seconds."""
    result: dict[str, dict[str, Any]] = {}
    known: set[tuple[str, str]] = set()
    for block in blocks:
        element = block.get("element") if block.get("type") == "input" else None
        if isinstance(element, dict) and element.get("action_id"):
            block_id, action_id = block.get("block_id", ""), element["action_id"]
            known.add((block_id, action_id))
            given = values.get(block_id, {}).get(action_id)
            extra = list((offered or {}).get(block_id, [])) + ([element["initial_option"]] if element.get("initial_option") else [])
            result.setdefault(block_id, {})[action_id] = _input_state(element, given, extra, tz)
    for block_id, actions in values.items():
        for action_id, given in actions.items():
            if (block_id, action_id) not in known:
                raise EmulatorError(f"the view has no input {block_id}/{action_id}; inputs: {sorted(known)}")
    return result


def _input_state(element: dict[str, Any], given: Any, extra: list[dict[str, Any]] | None = None, tz: str = "UTC") -> dict[str, Any]:
    kind = element.get("type", "plain_text_input")
    if isinstance(given, dict) and "type" in given:
        return copy.deepcopy(given)
    if kind in ("static_select", "radio_buttons", "external_select"):
        return {"type": kind, "selected_option": _option(element, given, extra) if given is not None else None}
    if kind == "datetimepicker":
        return {"type": kind, "selected_date_time": _unix(given, tz)}
    if kind in ("multi_static_select", "checkboxes"):
        return {"type": kind, "selected_options": [_option(element, v) for v in given or []]}
    single = {"users_select": "selected_user", "conversations_select": "selected_conversation",
              "channels_select": "selected_channel", "datepicker": "selected_date",
              "timepicker": "selected_time"}
    if kind in single:
        return {"type": kind, single[kind]: given}
    return {"type": kind, "value": given}


def _unix(given: Any, tz: str) -> int | None:
    """UNIX seconds of a datetimepicker's value: given as such, or as local time in the person's zone."""
    if given is None or isinstance(given, int):
        return given
    try:
        local = datetime.fromisoformat(str(given))
    except ValueError:
        raise EmulatorError(f"a datetimepicker takes UNIX seconds or YYYY-MM-DDTHH:MM, not {given!r}") from None
    return int((local if local.tzinfo else local.replace(tzinfo=ZoneInfo(tz))).timestamp())


def _option(element: dict[str, Any], value: Any, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    options = list(element.get("options") or []) + list(extra or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if option.get("value") == value:
            return copy.deepcopy(option)
    raise EmulatorError(f"{element.get('action_id')!r} has no option {value!r}; options: {[o.get('value') for o in options]}")
