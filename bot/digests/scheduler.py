"""APScheduler in the bot process: a timer that asks the digest service what is due.

Every replica runs one of these with an in-memory job store (a shared job store would run jobs
twice); the service's (digest, slot) claim makes each slot post once. The schedules themselves are
read from the database on every tick, so a subscription made in Slack, by any replica, takes
effect at the next tick without a restart.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.digests.service import DigestService
from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)


class DigestScheduler:
    """One APScheduler interval job per process that runs the digest service's `run_due`."""

    def __init__(self, service: DigestService, *, tick_seconds: float, metrics: Metrics | None = None) -> None:
        self._service, self._tick, self._metrics = service, tick_seconds, metrics
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        """Start ticking on the running event loop; the first tick is immediate (catch-up after downtime)."""
        scheduler = AsyncIOScheduler(timezone=timezone.utc)
        # One tick at a time (a slow post delays the next tick instead of overlapping it).
        scheduler.add_job(self.tick, IntervalTrigger(seconds=self._tick, timezone=timezone.utc), id="digests",
                          max_instances=1, coalesce=True, misfire_grace_time=None,
                          next_run_time=datetime.now(timezone.utc))
        scheduler.start()
        self._scheduler = scheduler

    async def tick(self) -> None:
        """Post what is due; an error is logged and the next tick tries again."""
        try:
            for outcome in await self._service.run_due():
                log.info("digest %s for %s: %s", outcome.name, outcome.slot, outcome.message)
                if self._metrics is not None:
                    self._metrics.digest_run(outcome.status if outcome.status in ("posted", "failed") else "skipped")
        except Exception:  # noqa: BLE001 - the next tick tries again
            log.exception("digest tick failed")

    def stop(self) -> None:
        """Stop ticking (a tick in progress finishes on its own)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
