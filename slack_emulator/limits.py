"""Slack's size limits on messages and views, enforced the way the real API enforces them.

A bot that works against a lenient fake and then meets `invalid_blocks` in production is the bug
this module exists to catch. Messages are refused with Slack's error and a pointer to the field;
over-long message text is truncated, as Slack does.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
MAX_SECTION_TEXT = 3_000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_ID = 255
MAX_MODAL_TITLE = 24
MAX_PRIVATE_METADATA = 3_000


def truncate_text(text: str) -> str:
    return text[:MAX_TEXT]


def block_problems(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Messages in Slack's `response_metadata.messages` style; empty when the blocks are fine."""
    if not isinstance(blocks, list):
        return ["[ERROR] must be an array [json-pointer:/blocks]"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        problems.extend(_block(block, f"/blocks/{i}"))
    return problems


def view_problems(view: Any) -> list[str]:
    """The limits of a modal or Home view (100 blocks, 24-char title, 3,000-char metadata)."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["[ERROR] must provide a view of type modal or home [json-pointer:/view/type]"]
    problems = block_problems(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS)
    title = (view.get("title") or {}).get("text", "")
    if view["type"] == "modal" and not title:
        problems.append("[ERROR] missing required field: title [json-pointer:/view/title]")
    problems += _too_long(title, MAX_MODAL_TITLE, "/view/title/text")
    problems += _too_long(view.get("private_metadata", ""), MAX_PRIVATE_METADATA, "/view/private_metadata")
    problems += _too_long(view.get("callback_id", ""), MAX_ID, "/view/callback_id")
    return problems


def _block(block: Any, at: str) -> list[str]:
    if not isinstance(block, dict) or "type" not in block:
        return [f"[ERROR] missing required field: type [json-pointer:{at}]"]
    problems = _too_long(block.get("block_id", ""), MAX_ID, f"{at}/block_id")
    kind = block["type"]
    if kind == "section":
        problems += _too_long(_text_of(block.get("text")), MAX_SECTION_TEXT, f"{at}/text/text")
        for j, f in enumerate(block.get("fields") or []):
            problems += _too_long(_text_of(f), 2_000, f"{at}/fields/{j}/text")
        if isinstance(block.get("accessory"), dict):
            problems += _element(block["accessory"], f"{at}/accessory")
    elif kind == "header":
        problems += _too_long(_text_of(block.get("text")), MAX_HEADER_TEXT, f"{at}/text/text")
    elif kind == "actions":
        elements = block.get("elements") or []
        if len(elements) > 25:
            problems.append(f"[ERROR] no more than 25 items allowed [json-pointer:{at}/elements]")
        for j, element in enumerate(elements):
            problems += _element(element, f"{at}/elements/{j}")
    elif kind == "context_actions":
        elements = block.get("elements") or []
        if len(elements) > 5:
            problems.append(f"[ERROR] no more than 5 items allowed [json-pointer:{at}/elements]")
        for j, element in enumerate(elements):
            for side in ("positive_button", "negative_button"):
                button = element.get(side) if isinstance(element, dict) else None
                if isinstance(button, dict):
                    where = f"{at}/elements/{j}/{side}"
                    problems += _too_long(_text_of(button.get("text")), MAX_BUTTON_TEXT, f"{where}/text/text")
                    problems += _too_long(button.get("value", ""), MAX_BUTTON_VALUE, f"{where}/value")
    elif kind == "input" and isinstance(block.get("element"), dict):
        problems += _element(block["element"], f"{at}/element")
    return problems


def _element(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"[ERROR] must be an object [json-pointer:{at}]"]
    problems = _too_long(element.get("action_id", ""), MAX_ID, f"{at}/action_id")
    if element.get("type") == "button":
        problems += _too_long(_text_of(element.get("text")), MAX_BUTTON_TEXT, f"{at}/text/text")
        problems += _too_long(element.get("value", ""), MAX_BUTTON_VALUE, f"{at}/value")
    return problems


def _text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def _too_long(value: Any, limit: int, at: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{at}]"]
    return []
