"""House rule 1: dependencies point one way. Checked on the import statements of every module."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "adapters")

# (modules the rule covers, imports they must not make, modules exempt from the rule)
RULES = [
    ("adapters", ("bot",), ()),
    ("bot.agent", ("slack_bolt", "slack_sdk", "sqlmodel", "bot.slack", "bot.store"), ()),
    # The agent knows only that a write tool needs approval; planning and executing writes is the
    # approval service's (read tools share its JSON form of record fields).
    ("bot.agent", ("bot.actions",), ("bot.agent.read_tools",)),
    ("bot.actions", ("slack_bolt", "slack_sdk", "bot.slack"), ()),
    ("bot.digests", ("slack_bolt", "bot.slack"), ()),
    # The emulator stands in for Slack: it knows nothing of the bot it serves.
    ("bot.emulator", ("bot.slack", "bot.agent", "bot.actions", "bot.digests", "bot.store", "bot.privacy"), ()),
    ("bot.privacy", ("slack_bolt", "slack_sdk", "openai", "bot.slack", "bot.agent"), ()),
    ("", ("openai",), ("bot.agent.openai_model",)),
    ("", ("presidio_analyzer",), ("bot.privacy.detector", "bot.privacy.recognizers")),
    ("", ("sqlmodel",), ("bot.store", "adapters.crm.local", "adapters.kb.tables", "adapters.email.outbox")),
    ("", ("bot.slack",), ("bot.slack", "bot.wiring", "bot.cli", "bot.__main__")),
]


def modules() -> dict[str, set[str]]:
    """Module name -> names it imports (absolute), for every module of the packages."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            imports: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imports.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imports.add(node.module)
            found[name] = imports
    return found


def within(name: str, prefix: str) -> bool:
    return prefix == "" or name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("scope", "forbidden", "exempt"), RULES)
def test_dependency_rule(scope: str, forbidden: tuple[str, ...], exempt: tuple[str, ...]) -> None:
    broken = [
        f"{module} imports {imported}"
        for module, imports in modules().items()
        if within(module, scope) and not any(within(module, e) for e in exempt)
        for imported in imports
        if any(within(imported, f) for f in forbidden)
    ]
    assert not broken, broken


def test_the_checker_sees_imports() -> None:
    found = modules()
    assert "sqlmodel" in found["bot.store.tables"] and "adapters.crm.local.adapter" in found["bot.wiring"]


def test_the_records_module_is_a_leaf_every_layer_may_import() -> None:
    # The records every layer passes around import only the standard library...
    found = modules()
    assert found["bot.records"] and all(name.split(".")[0] in sys.stdlib_module_names for name in found["bot.records"])
    # ...and no rule keeps any part of the bot from importing them.
    bot_scopes = [(scope, forbidden) for scope, forbidden, _ in RULES if scope == "" or within(scope, "bot")]
    assert not [scope for scope, forbidden in bot_scopes if any(within("bot.records", f) for f in forbidden)]
    assert "bot.records" in found["bot.agent.loop"] and "bot.records" in found["bot.store.proposals"]


def test_no_module_level_engines_or_clients() -> None:
    # House rule 3: constructors take what they need; nothing is built at import time.
    calls = ("create_engine", "make_engine", "AsyncOpenAI", "AsyncWebClient", "WebClient", "AnalyzerEngine", "load_settings")
    offenders = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)):
                    for call in ast.walk(node):
                        if isinstance(call, ast.Call):
                            func = call.func
                            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                            if name in calls:
                                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not offenders, offenders
