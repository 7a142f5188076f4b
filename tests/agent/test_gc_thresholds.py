"""The bot process sets its garbage-collector thresholds before anything else runs."""

from __future__ import annotations

import gc
import runpy
import sys

import pytest

from bot.runtime import GC_THRESHOLDS


def test_python_m_bot_sets_the_collector_thresholds_before_the_cli_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr("bot.cli.main", lambda: seen.append(gc.get_threshold()) or 0)
    monkeypatch.delitem(sys.modules, "bot.__main__", raising=False)  # run it afresh as __main__
    before = gc.get_threshold()
    try:
        with pytest.raises(SystemExit) as exited:
            runpy.run_module("bot", run_name="__main__")
    finally:
        gc.set_threshold(*before)
    assert exited.value.code == 0
    assert seen == [GC_THRESHOLDS] and GC_THRESHOLDS != before
