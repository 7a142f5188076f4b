"""assistant.threads.* and chat.startStream / appendStream / stopStream, with Slack's rules.

setStatus works in a thread of a conversation the bot is in (10 loading messages at most).
setSuggestedPrompts takes at most four prompts; given a thread_ts it answers ok and changes
nothing, as Slack does for an app with the agent view. A stream must be a reply in a thread, in
a channel it must name its recipient (user and team), each call carries at most 12,000
characters of markdown text, and once stopped or expired every further call is refused with
`message_not_in_streaming_state`. A stopped stream is an ordinary bot message: its text, a
`markdown` block holding it, and the blocks given to stopStream.
"""

from __future__ import annotations

from typing import Any

from slack_emulator import limits
from slack_emulator.api_chat import bot_message
from slack_emulator.api_common import ApiError, conversation
from slack_emulator.agent_surfaces import Stream
from slack_emulator.state import Workspace

MAX_LOADING_MESSAGES = 10
MAX_PROMPTS = 4
MAX_MARKDOWN = 12_000
TASK_STATUSES = ("pending", "in_progress", "complete", "error")


def _invalid(message: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


def set_status(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args, key="channel_id")
    thread_ts = args.get("thread_ts")
    if not thread_ts:
        raise _invalid("missing required field: thread_ts")
    if "status" not in args:
        raise _invalid("missing required field: status")
    loading = args.get("loading_messages") or []
    if not isinstance(loading, list) or len(loading) > MAX_LOADING_MESSAGES:
        raise _invalid(f"loading_messages: no more than {MAX_LOADING_MESSAGES} items allowed")
    ws.surfaces.set_status(channel.id, str(thread_ts), str(args.get("status") or ""), [str(m) for m in loading])
    return {}


def set_suggested_prompts(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args, key="channel_id")
    prompts = args.get("prompts")
    if not isinstance(prompts, list) or not prompts or len(prompts) > MAX_PROMPTS:
        raise _invalid(f"prompts: between 1 and {MAX_PROMPTS} items required")
    for prompt in prompts:
        if not isinstance(prompt, dict) or not prompt.get("title") or not prompt.get("message"):
            raise _invalid("each prompt needs a title and a message")
    if args.get("thread_ts"):
        return {}  # the agent view ignores prompts set for a thread: ok, and nothing shows
    ws.surfaces.set_prompts(channel.id, args.get("title"), [{"title": str(p["title"]), "message": str(p["message"])}
                                                            for p in prompts])
    return {}


def set_title(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    conversation(ws, args, key="channel_id")
    return {}


def _chunks(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The call's chunks (markdown_text given alone counts as one), checked."""
    chunks = args.get("chunks") or []
    if not isinstance(chunks, list):
        raise ApiError("invalid_chunks")
    if isinstance(args.get("markdown_text"), str) and args["markdown_text"]:
        chunks = [{"type": "markdown_text", "text": args["markdown_text"]}, *chunks]
    text = 0
    for chunk in chunks:
        kind = chunk.get("type") if isinstance(chunk, dict) else None
        if kind == "markdown_text":
            text += len(str(chunk.get("text") or ""))
        elif kind == "task_update":
            if not chunk.get("id") or not chunk.get("title") or chunk.get("status") not in TASK_STATUSES:
                raise ApiError("invalid_chunks")
        elif kind == "blocks":
            if limits.block_problems(chunk.get("blocks")):
                raise ApiError("invalid_chunks")
        elif kind != "plan_update":
            raise ApiError("invalid_chunks")
    if text > MAX_MARKDOWN:
        raise ApiError("msg_too_long")
    return chunks


def _apply(ws: Workspace, stream: Stream, chunks: list[dict[str, Any]]) -> None:
    with ws.changing():
        for chunk in chunks:
            if chunk["type"] == "markdown_text":
                stream.text += str(chunk.get("text") or "")
            elif chunk["type"] == "task_update":
                task = stream.tasks.setdefault(str(chunk["id"]), {"id": str(chunk["id"])})
                task.update({k: chunk[k] for k in ("title", "status", "details", "output", "sources") if k in chunk})
            elif chunk["type"] == "plan_update":
                stream.plan_title = str(chunk.get("title") or "")
        stream.last_activity = ws.clock()
        stream.appends += 1
        ws.messages.update(stream.channel, stream.ts, _shown(stream, None), drop=("edited",))


def _shown(stream: Stream, final_blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The message as Slack stores it: the text so far in a markdown block, then any final blocks."""
    blocks: list[dict[str, Any]] = [{"type": "markdown", "text": stream.text}] if stream.text else []
    return {"text": stream.text, "blocks": blocks + list(final_blocks or [])}


def start_stream(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args)
    thread_ts = args.get("thread_ts")
    if not thread_ts:
        raise _invalid("missing required field: thread_ts")
    if ws.messages.get(channel.id, str(thread_ts)) is None:
        raise ApiError("thread_not_found")
    if not channel.is_im and not (args.get("recipient_user_id") and args.get("recipient_team_id")):
        raise _invalid("recipient_user_id and recipient_team_id are required when streaming to channels")
    chunks = _chunks(args)
    msg = bot_message(ws.config, ts=ws.next_ts(), text="", blocks=None, thread_ts=str(thread_ts))
    ws.messages.add(channel.id, msg)
    stream = Stream(channel.id, msg["ts"], str(thread_ts), str(args.get("task_display_mode") or "timeline"),
                    args.get("recipient_user_id"), ws.clock())
    ws.surfaces.start(stream)
    _apply(ws, stream, chunks)
    return {"channel": channel.id, "ts": msg["ts"]}


def _open_stream(ws: Workspace, args: dict[str, Any]) -> Stream:
    channel = conversation(ws, args)
    ts = str(args.get("ts") or "")
    current = ws.messages.get(channel.id, ts)
    if current is None:
        raise ApiError("message_not_found")
    if current.get("bot_id") != ws.config.bot_id:
        raise ApiError("cant_update_message")
    stream = ws.surfaces.stream(channel.id, ts)
    if stream is None or stream.state != "streaming":
        raise ApiError("message_not_in_streaming_state")
    return stream


def append_stream(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    stream = _open_stream(ws, args)
    _apply(ws, stream, _chunks(args))
    return {"channel": stream.channel, "ts": stream.ts}


def stop_stream(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    stream = _open_stream(ws, args)
    blocks = args.get("blocks") or []
    if blocks and limits.block_problems(blocks):
        raise ApiError("invalid_blocks", errors=limits.block_problems(blocks))
    chunks = _chunks(args)
    _apply(ws, stream, chunks)
    with ws.changing():
        stream.state = "stopped"
        for task in stream.tasks.values():  # what was still running when the answer came is done
            if task.get("status") in ("pending", "in_progress"):
                task["status"] = "complete"
        changes = _shown(stream, blocks)
        if isinstance(args.get("metadata"), dict):
            changes["metadata"] = args["metadata"]
        message = ws.messages.update(stream.channel, stream.ts, changes)
    ws.surfaces.clear_status(stream.channel, stream.thread_ts)
    return {"channel": stream.channel, "ts": stream.ts, "message": message}


METHODS = {
    "assistant.threads.setStatus": set_status,
    "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
    "assistant.threads.setTitle": set_title,
    "chat.startStream": start_stream,
    "chat.appendStream": append_stream,
    "chat.stopStream": stop_stream,
}
