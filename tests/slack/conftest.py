"""The listener tests' bench: SlackDeps of fakes, fresh for each test."""

from __future__ import annotations

import pytest

from tests.slack.fakes import Bench, make_bench


@pytest.fixture
def bench() -> Bench:
    return make_bench()
