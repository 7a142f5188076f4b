"""What an operator sees of the bot: metrics, health, and the log of decisions.

`Ops` bundles the three for one process; bot.wiring builds it and hands it to what records.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.ops.health import Health
from bot.ops.journal import Journal
from bot.ops.metrics import Metrics


@dataclass(frozen=True)
class Ops:
    """metrics is None when bot.metrics is off (the journal then only writes lines)."""

    metrics: Metrics | None
    journal: Journal
    health: Health
