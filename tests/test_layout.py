"""House rule 1: dependencies point one way. Checked on the import statements of every module.

Besides the rules on third-party packages below, the modules of bot/ form a graph (every import
statement counts, also those inside functions and under TYPE_CHECKING) that must have no circle
and no edge pointing up the declared layers.
"""

from __future__ import annotations

import ast
import graphlib
import sys
from collections.abc import Mapping, Set
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "adapters", "slack_emulator")

# (modules the rule covers, imports they must not make, modules exempt from the rule)
RULES = [
    ("adapters", ("bot",), ()),
    ("bot.agent", ("slack_bolt", "slack_sdk", "sqlmodel", "bot.slack", "bot.store"), ()),
    # The agent knows only that a write tool needs approval; planning and executing writes is the
    # approval service's (read tools share its JSON form of record fields).
    ("bot.agent", ("bot.actions",), ("bot.agent.read_tools",)),
    ("bot.actions", ("slack_bolt", "slack_sdk", "bot.slack"), ()),
    ("bot.digests", ("slack_bolt", "bot.slack"), ()),
    # The emulator stands in for Slack: it knows nothing of the bot it serves, and of the bot only
    # `python -m bot dev` starts it.
    ("slack_emulator", ("bot", "adapters"), ()),
    ("", ("slack_emulator",), ("slack_emulator", "bot.cli_dev")),
    ("bot.privacy", ("slack_bolt", "slack_sdk", "openai", "bot.slack", "bot.agent"), ()),
    ("", ("openai",), ("bot.agent.openai_model",)),
    ("", ("presidio_analyzer",), ("bot.privacy.detector", "bot.privacy.recognizers")),
    ("", ("sqlmodel",), ("bot.store", "adapters.crm.local", "adapters.kb.tables", "adapters.email.outbox")),
    ("", ("bot.slack",), ("bot.slack", "bot.wiring", "bot.cli", "bot.cli_access", "bot.cli_dev", "bot.cli_run",
                          "bot.__main__")),
]

# The layers of bot/, top first. A module may import its own layer and the layers below it; the
# most specific prefix decides a module's layer. Every module of bot/ must have one.
LAYERS: tuple[tuple[str, ...], ...] = (
    # The composition root and the commands: they may import anything, and nothing imports them.
    ("bot.__main__", "bot.cli", "bot.cli_access", "bot.cli_agent", "bot.cli_dev", "bot.cli_digest", "bot.cli_failed",
     "bot.cli_feedback",
     "bot.cli_hubspot", "bot.cli_run", "bot.wiring"),
    ("bot.slack",),
    ("bot.agent", "bot.actions", "bot.digests", "bot.limits", "bot.ops"),  # the services, and what watches them
    ("bot.store", "bot.privacy", "bot.access"),
    # Leaves every layer may import: settings, records, pure helpers. (adapters/ lies below all of bot/.)
    ("bot", "bot.access.settings", "bot.breaker", "bot.config", "bot.cron", "bot.formats", "bot.records", "bot.runtime",
     "bot.scoring", "bot.sources"),
)
# Modules of bot/ kept out of the layers (none today; the Slack emulator lives beside bot/).
BESIDE: tuple[str, ...] = ()


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


def module_graph() -> dict[str, set[str]]:
    """Module of bot/ -> the modules of bot/ it imports (relative imports resolved, `from a import b`
    counted as an import of a.b when b is a module)."""
    paths = {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
             for path in (ROOT / "bot").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base
                               for alias in node.names)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def layer_of(module: str) -> int | None:
    """Index into LAYERS (0 is the top) by the most specific prefix; None when undeclared."""
    found = [(len(prefix), index) for index, layer in enumerate(LAYERS) for prefix in layer
             if module == prefix or (prefix != "bot" and module.startswith(prefix + "."))]
    return max(found)[1] if found else None


def circle(graph: Mapping[str, Set[str]]) -> list[str]:
    """One import circle of the graph (its first module repeated at the end), or [] if there is none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(reversed(exc.args[1]))
    return []


def upward(graph: Mapping[str, Set[str]]) -> list[str]:
    """The imports that point up the layers (or from or to a module of no declared layer)."""
    found = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            below, above = layer_of(module), layer_of(target)
            if below is None or above is None or above < below:
                found.append(f"{module} (layer {below}) imports {target} (layer {above})")
    return found


def layered() -> dict[str, set[str]]:
    return {m: {t for t in ts if not any(within(t, b) for b in BESIDE)}
            for m, ts in module_graph().items() if not any(within(m, b) for b in BESIDE)}


def test_no_import_circle_inside_bot() -> None:
    found = circle(layered())
    assert not found, "import circle: " + " -> ".join(found)


def test_no_upward_import_inside_bot() -> None:
    found = upward(layered())
    assert not found, "imports against the layers: " + "; ".join(found)


def test_the_graph_checks_can_fail() -> None:
    # The checks above on a made-up graph: a circle, an upward import, a module of no layer.
    assert circle({"bot.cli": {"bot.wiring"}, "bot.wiring": {"bot.cli"}}) in (
        ["bot.cli", "bot.wiring", "bot.cli"], ["bot.wiring", "bot.cli", "bot.wiring"])
    assert circle({"bot.slack.a": {"bot.agent.b"}, "bot.agent.b": set()}) == []
    assert upward({"bot.store.x": {"bot.slack.y"}}) == ["bot.store.x (layer 3) imports bot.slack.y (layer 1)"]
    assert upward({"bot.slack.y": {"bot.store.x", "bot.config"}}) == []
    assert upward({"bot.newthing": {"bot.config"}}) == ["bot.newthing (layer None) imports bot.config (layer 4)"]
    assert layer_of("bot.records") == 4 and layer_of("bot.digests.service") == 2 and layer_of("bot") == 4


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
    assert "slack_emulator" in found["bot.cli_dev"] and "slack_emulator.state" in found["slack_emulator.server"]


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
