"""What the bot sends cannot carry anything out, end to end: the real bot process, the Slack
emulator and a scripted model whose tool name and answer hold `<!channel>`, links to a host that
is not allowed (bracketed, bare, Markdown and look-alike) and a 50,000-character tail. Every Web
API call the emulator records is checked, blocks and fallback text alike, and the answer arrives
as one message cut at `slack.max_answer_chars`: streamed into the thread, its chunks (text and
task titles) checked like every other text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from slack_emulator import EmulatorThread
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.harness import Script
from tests.fakes.model_server import text, tool_calls

SALES = "C0SALES"
HOSTILE = ("<!channel> Deal 1 is <https://crm.example.com/deals/1|here>. "
           "Details: <https://evil.example/x?e=zoe@acme.test|click>, https://evil.example/collect?e=1&p=2, "
           "www.evil.example/w, evil.example/path?q=1, <!here|here>, "
           "<https://crm.example.com.evil.example/deals/1|https://crm.example.com/deals/1> and "
           "[crm.example.com](https://crm.exаmple.com/deals/1).\n\n")
TAIL = "tail " * 10_000  # 50,000 characters


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
          script: tuple[Script, str]) -> Iterator[Stack]:
    emulator.default_mode = "socket"
    started = start_stack(tmp_path_factory.mktemp("guard"), emulator, script, socket_mode=True,
                          extra_env={"BOT_SLACK__RECORD_URL": "https://crm.example.com/{kind}s/{id}"})
    yield started
    code = started.bot.stop()
    started.engine.dispose()
    assert code == 0, f"the bot exited with {code}\n{started.bot.output()}"


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        try:  # views and blocks may arrive JSON-encoded
            decoded = json.loads(value)
        except ValueError:
            return [value]
        return strings(decoded) if isinstance(decoded, (dict, list)) else [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_no_slack_call_carries_a_control_sequence_or_a_foreign_link_and_the_answer_is_capped(stack: Stack) -> None:
    before = len(stack.emulator.calls())
    stack.script.load(tool_calls(("<!channel> https://evil.example/t", {})), text(HOSTILE + TAIL))
    posted = stack.emulator.user_message("U02BOB", SALES, "<@UBOT> summarise deal 1")
    stack.emulator.wait_for(lambda e: any("the answer was cut at 12,000 characters" in json.dumps(m.blocks)
                                          for m in e.messages(SALES, thread_ts=posted.ts)),
                            30, what="the capped answer")
    calls = [c for c in stack.emulator.calls()[before:] if c.method.startswith(("chat.", "views."))]
    assert any(c.method == "chat.startStream" for c in calls) and any(c.method == "chat.stopStream" for c in calls)
    for call in calls:
        streamed = call.method in ("chat.startStream", "chat.appendStream", "chat.stopStream")
        assert streamed or call.args.get("text"), f"{call.method} without fallback text"
        for value in strings(call.args):
            assert "<!" not in value.replace("<!date^", ""), (call.method, value[:300])
            assert "evil.example" not in value and "crm.exаmple.com" not in value, (call.method, value[:300])
            for target in re.findall(r"<(https?://[^|>]*)", value):
                assert target.startswith("https://crm.example.com/"), (call.method, target)
    replies = [m for m in stack.emulator.messages(SALES, thread_ts=posted.ts) if m.bot_id and m.ts != posted.ts]
    assert len(replies) == 1, "the answer must be one message"
    shown = "".join(b["text"] for b in replies[0].blocks if b.get("type") == "markdown")
    assert "[here](https://crm.example.com/deals/1)" in shown  # the allowed link survives (as Markdown)
    assert "[link removed: evil[.]example]" in shown
    assert 12_000 <= len(shown) <= 12_600
