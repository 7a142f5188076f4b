"""The optional model-written summary: the model sees masked lines only; the channel reads real names."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from bot.agent.model import Message, ModelError, ModelReply, Usage
from bot.agent.scripted import ScriptedModel
from bot.records import Subscription
from bot.store.tables import utcnow
from bot.wiring import build_digests
from tests.world import Clock, make_world


def summary_subscription(summary: bool = True) -> Subscription:
    return Subscription("leads", "#sales", "0 8 * * *", "UTC", ("new_leads",), {"summary": summary}, source="slack")


def preview(engine: Engine, tmp_path: Path, model: ScriptedModel, *, summary: bool = True):  # type: ignore[no-untyped-def]
    world = make_world(engine, tmp_path, model, clock=Clock(utcnow()))
    components = world.services.components
    service = build_digests(components.settings, components, world.services.approvals, clock=world.clock,
                            summarizer_parts=(model, world.services.gateway))
    service.store.subscribe(summary_subscription(summary), now=world.clock.now)
    return asyncio.run(service.preview("leads"))


def test_the_summary_is_written_from_masked_lines_and_unmasked_for_the_channel(sqlite_engine: Engine,
                                                                                tmp_path: Path) -> None:
    def reply(messages: Sequence[Message]) -> ModelReply:
        facts = messages[-1].content or ""
        person = re.search(r"<PERSON_\d+>", facts)
        assert person is not None, facts
        return ModelReply(f"Call {person[0]} first: the best new lead.", (), Usage(10, 5), "scripted")

    model = ScriptedModel([reply])
    digest = preview(sqlite_engine, tmp_path, model)
    model.assert_done()
    assert "Zoë" not in model.sent_text() and "Müller" not in model.sent_text()
    assert digest.summary == "Call Zoë Müller first: the best new lead."
    assert any("Zoë Müller" in line.text for line in digest.sections[0].lines)  # people read real names


def test_a_failing_model_leaves_the_digest_without_a_summary(sqlite_engine: Engine, tmp_path: Path) -> None:
    model = ScriptedModel([ModelError("the model server answered 500")])
    digest = preview(sqlite_engine, tmp_path, model)
    assert digest.summary is None and digest.sections


def test_no_summary_unless_asked(sqlite_engine: Engine, tmp_path: Path) -> None:
    model = ScriptedModel([])
    digest = preview(sqlite_engine, tmp_path, model, summary=False)
    assert digest.summary is None
    model.assert_done()  # the model was never called
