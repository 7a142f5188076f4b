"""One emulator, one model server and one bot process per test module (starting the bot takes seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adapters.crm.local.adapter import LocalCrm
from adapters.kb.local import LocalKnowledgeBase
from bot.store import schema
from bot.store.engine import make_engine
from slack_emulator import EmulatorThread
from tests.e2e.harness import BotProcess, Script
from tests.fakes.model_server import ScriptedModelServer
from tests.world import ARTICLES, seed


@dataclass
class Stack:
    emulator: EmulatorThread
    script: Script
    bot: BotProcess
    crm: LocalCrm
    engine: Engine
    ids: dict[str, int]


def prepare_database(url: str, kb_path: Path) -> tuple[Engine, LocalCrm, dict[str, int]]:
    for path, body in ARTICLES.items():
        (kb_path / path).parent.mkdir(parents=True, exist_ok=True)
        (kb_path / path).write_text(body, encoding="utf-8")
    engine = make_engine(url)
    schema.upgrade(engine)
    crm = LocalCrm(engine)
    ids = seed(crm)
    LocalKnowledgeBase(engine, kb_path).reindex()
    return engine, crm, ids


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread() as emu:
        yield emu


@pytest.fixture(scope="module")
def script() -> Iterator[tuple[Script, str]]:
    model = Script()
    with ScriptedModelServer(responder=model) as server:
        yield model, server.base_url


def start_stack(tmp: Path, emulator: EmulatorThread, script: tuple[Script, str], *, socket_mode: bool,
                database_url: str | None = None, extra_env: dict[str, str] | None = None) -> Stack:
    url = database_url or f"sqlite:///{tmp / 'bot.db'}"
    engine, crm, ids = prepare_database(url, tmp / "kb")
    bot = BotProcess(emulator, script[1], url, tmp / "kb", tmp / "bot.log", socket_mode=socket_mode,
                     extra_env=extra_env)
    if not socket_mode:
        emulator.http_target = f"{bot.url}/slack/events"
    bot.wait_ready()
    return Stack(emulator, script[0], bot, crm, engine, ids)


@pytest.fixture(scope="module")
def socket_stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
                 script: tuple[Script, str]) -> Iterator[Stack]:
    emulator.default_mode = "socket"
    stack = start_stack(tmp_path_factory.mktemp("socket"), emulator, script, socket_mode=True)
    yield stack
    code = stack.bot.stop()
    stack.engine.dispose()
    assert code == 0, f"the bot exited with {code}\n{stack.bot.output()}"
