"""Work on a timer: finish what a crash left executing, expire proposals, take the Revert button off
cards whose time to revert ended, show e-mails the outbox delivered as sent, retry what the
dead-letter list holds, re-read the CRM's names.

Every replica runs these; each step is safe to run concurrently because the state changes
underneath are conditional updates (a proposal expires or recovers once, whoever gets there).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.config import Settings
from bot.privacy.known import KnownEntitySource
from bot.slack.deps import SlackDeps
from bot.slack.redo import Redo

log = logging.getLogger(__name__)


class Housekeeping:
    def __init__(self, deps: SlackDeps, known: KnownEntitySource, settings: Settings,
                 clock: Callable[[], datetime], *, redo: Redo | None = None) -> None:
        self._deps, self._known, self._settings, self._clock = deps, known, settings, clock
        self._redo = redo
        self._tasks: list[asyncio.Task[None]] = []
        self._swept: datetime | None = None  # when the last sweep looked at revert windows

    async def on_start(self) -> None:
        """Reconcile proposals left executing (never executed twice: the proposal id is the
        idempotency key) and redraw their cards; close requests a stopped process left running."""
        decisions = await asyncio.to_thread(self._deps.approvals.recover)
        for decision in decisions:
            if decision.proposal is not None:
                await self._deps.decisions.refresh(decision.proposal.id)
        if decisions:
            log.info("recovered %d proposals left executing", len(decisions))
        await self._close_abandoned()
        await self.retry_failed()

    def start(self) -> None:
        slack = self._settings.slack
        self._tasks.append(asyncio.get_running_loop().create_task(
            self._every(slack.sweep_seconds, self.sweep), name="expiry sweep"))
        if slack.known_refresh_seconds and self._settings.privacy.known_entities:
            self._tasks.append(asyncio.get_running_loop().create_task(
                self._every(slack.known_refresh_seconds, self.refresh_known), name="known-entity refresh"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def sweep(self) -> None:
        """Expire proposals past their time and update their cards."""
        expired = await asyncio.to_thread(self._deps.approvals.expire_due)
        for proposal in expired:
            await self._deps.decisions.refresh(proposal.id)
        # Cards whose Revert window ended since the last sweep (the first one looks back an hour).
        now = self._deps.approvals.now()
        since, self._swept = self._swept or now - timedelta(hours=1), now
        for proposal in await asyncio.to_thread(self._deps.approvals.revert_closed, since):
            await self._deps.decisions.refresh(proposal.id)
        # E-mails the outbox has delivered since: their cards go from Queued to Sent.
        for proposal in await asyncio.to_thread(self._deps.approvals.emails_delivered):
            await self._deps.decisions.refresh(proposal.id)
        await self._close_abandoned()
        await self.retry_failed()

    async def retry_failed(self) -> None:
        """Retry the dead-letter list's items whose time has come (claimed: one replica each)."""
        if self._redo is not None:
            finished = await self._redo.sweep()
            if finished:
                log.info("%d failed items were retried and finished", finished)

    async def refresh_known(self) -> None:
        """Names added or changed outside the bot (imports, other systems) are masked from now on."""
        await asyncio.to_thread(self._known.refresh)

    async def _close_abandoned(self) -> None:
        # Older than an agent run may last: no live process is still working on it.
        cutoff = self._clock() - timedelta(seconds=self._settings.agent.max_seconds + 60)
        closed = await asyncio.to_thread(self._deps.requests.fail_abandoned, started_before=cutoff,
                                         now=self._clock())
        if closed:
            log.warning("%d requests were interrupted by a stop and are marked failed", closed)

    @staticmethod
    async def _every(seconds: float, step: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await step()  # type: ignore[misc]
            except Exception:  # noqa: BLE001 - try again next time
                log.exception("housekeeping step failed")
