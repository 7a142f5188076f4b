"""Claim, post, retry, record: each slot posts once, missed slots coalesce, failures are kept."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy import Engine

from adapters.crm.local.adapter import LocalCrm
from bot.digests.service import PublishError
from bot.records import Subscription
from bot.store.dead_letters import SqlDeadLetters
from bot.store.engine import make_engine
from tests.digests.world import Clock, Publisher, Sleeps, service, stale_deals, utc


def subscribe(svc: object, *, cron: str = "0 8 * * *", tz: str = "Europe/Berlin", created=None,
              sections=("stale_deals",)) -> None:
    svc.store.subscribe(Subscription("sales-stale", "#sales", cron, tz, tuple(sections), source="slack",  # type: ignore[attr-defined]
                                     created_by="U01ALICE"), now=created)


def test_a_slot_posts_once_then_waits_for_the_next(engine: Engine) -> None:
    stale_deals(LocalCrm(engine), 3)
    clock, publisher = Clock(utc(2026, 12, 1, 6, 0)), Publisher()
    svc = service(engine, clock, publisher=publisher)
    subscribe(svc, created=clock.now)
    assert asyncio.run(svc.run_due()) == []  # 08:00 Berlin is 07:00 UTC
    clock.now = utc(2026, 12, 1, 7, 0, 5)
    (outcome,) = asyncio.run(svc.run_due())
    assert (outcome.status, outcome.slot, outcome.attempts) == ("posted", utc(2026, 12, 1, 7), 1)
    assert asyncio.run(svc.run_due()) == []  # the same slot again: nothing
    clock.now = utc(2026, 12, 2, 7, 0, 1)
    assert [o.slot for o in asyncio.run(svc.run_due())] == [utc(2026, 12, 2, 7)]
    assert len(publisher.posted) == 2 and not publisher.posted[0].catching_up
    run = svc.store.last_run("sales-stale")
    assert run is not None and (run.status, run.message_ts) == ("posted", "1700000000.000002")


def test_missed_slots_after_downtime_coalesce_into_one_catching_up_run(engine: Engine) -> None:
    clock, publisher = Clock(utc(2026, 11, 30, 9)), Publisher()
    svc = service(engine, clock, publisher=publisher)
    subscribe(svc, created=clock.now)
    clock.now = utc(2026, 12, 3, 10)  # down for Tue, Wed and Thu 08:00 Berlin
    (outcome,) = asyncio.run(svc.run_due())
    assert outcome.slot == utc(2026, 12, 3, 7)
    (digest,) = publisher.posted
    assert digest.catching_up and digest.missed == 2
    assert svc.store.runs("sales-stale")[0].catching_up


def test_empty_sections_are_left_out(engine: Engine) -> None:
    clock, publisher = Clock(utc(2026, 12, 1, 7, 1)), Publisher()
    svc = service(engine, clock, publisher=publisher)
    subscribe(svc, created=utc(2026, 11, 30), sections=("stale_deals", "closing_soon", "ticket_alerts"))
    asyncio.run(svc.run_due())
    (digest,) = publisher.posted
    assert digest.sections == () and digest.empty  # an empty CRM: every section left out


def test_a_transient_slack_failure_is_retried_with_backoff_then_recorded(engine: Engine) -> None:
    clock, sleeps = Clock(utc(2026, 12, 1, 7, 1)), Sleeps()
    publisher = Publisher(failures=[PublishError("Slack refused the digest (500)", transient=True)] * 4)
    letters = SqlDeadLetters(engine)
    svc = service(engine, clock, publisher=publisher, sleep=sleeps, post_attempts=4, retry_seconds=2, letters=letters)
    subscribe(svc, created=utc(2026, 11, 30))
    (outcome,) = asyncio.run(svc.run_due())
    assert (outcome.status, outcome.attempts, publisher.calls) == ("failed", 4, 4)
    assert sleeps.waits == [2, 4, 8]
    run = svc.store.last_run("sales-stale")
    assert run is not None and (run.status, run.error) == ("failed", "Slack refused the digest (500)")
    assert asyncio.run(svc.run_due()) == []  # a failed slot is not retried forever; the next slot comes
    (kept,) = letters.list()  # but it is kept for an operator, with what posts it again
    assert (kept.kind, kept.status, kept.reason, kept.payload["digest"]) == (
        "digest", "failed", "Slack refused the digest (500)", "sales-stale")


def test_a_transient_failure_that_clears_posts_once(engine: Engine) -> None:
    clock, sleeps = Clock(utc(2026, 12, 1, 7, 1)), Sleeps()
    publisher = Publisher(failures=[PublishError("cannot reach Slack", transient=True)])
    svc = service(engine, clock, publisher=publisher, sleep=sleeps)
    subscribe(svc, created=utc(2026, 11, 30))
    (outcome,) = asyncio.run(svc.run_due())
    assert (outcome.status, outcome.attempts, len(publisher.posted), sleeps.waits) == ("posted", 2, 1, [2.0])


def test_a_permanent_failure_is_recorded_at_once(engine: Engine) -> None:
    clock, sleeps = Clock(utc(2026, 12, 1, 7, 1)), Sleeps()
    publisher = Publisher(failures=[PublishError("Slack refused the digest (channel_not_found)", transient=False)])
    svc = service(engine, clock, publisher=publisher, sleep=sleeps)
    subscribe(svc, created=utc(2026, 11, 30))
    (outcome,) = asyncio.run(svc.run_due())
    assert (outcome.status, outcome.attempts, sleeps.waits) == ("failed", 1, [])
    assert "channel_not_found" in (svc.store.last_run("sales-stale").error or "")  # type: ignore[union-attr]


def test_a_slot_left_claimed_by_a_dead_process_is_taken_over_after_the_lease(engine: Engine) -> None:
    clock, publisher = Clock(utc(2026, 12, 1, 7, 1)), Publisher()
    dead = service(engine, clock, instance="dead")
    subscribe(dead, created=utc(2026, 11, 30))
    assert dead.store.claim("sales-stale", utc(2026, 12, 1, 7), by="dead", now=clock.now) is not None
    alive = service(engine, clock, publisher=publisher, instance="alive", lease_minutes=15)
    assert asyncio.run(alive.run_due()) == []  # within the lease: the claimant may still be posting
    clock.now = utc(2026, 12, 1, 7, 20)
    (outcome,) = asyncio.run(alive.run_due())
    assert (outcome.status, outcome.slot) == ("posted", utc(2026, 12, 1, 7))
    assert len(publisher.posted) == 1 and svc_runs(alive) == [("posted", "alive")]


def svc_runs(svc: object) -> list[tuple[str, str | None]]:
    return [(r.status, r.claimed_by) for r in svc.store.runs("sales-stale")]  # type: ignore[attr-defined]


def test_two_schedulers_on_one_postgresql_database_post_each_slot_once(pg_url: str) -> None:
    from bot.store import schema

    engines = [make_engine(pg_url) for _ in range(2)]
    schema.upgrade(engines[0])
    stale_deals(LocalCrm(engines[0]), 2)
    clock = Clock(utc(2030, 1, 7, 9, 1))  # years after the records were written: every deal is stale
    publishers = [Publisher(), Publisher()]
    services = [service(e, clock, publisher=p, instance=f"replica-{i}")
                for i, (e, p) in enumerate(zip(engines, publishers, strict=True))]
    subscribe(services[0], cron="*/5 * * * *", tz="UTC", created=utc(2030, 1, 7, 8, 58))
    barrier = threading.Barrier(2)

    def replica(i: int) -> None:
        barrier.wait()
        asyncio.run(services[i].run_due())

    for _ in range(3):  # three slots, both replicas ticking at the same moment each time
        threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clock.now += timedelta(minutes=5)
    posted = [d.slot for p in publishers for d in p.posted]
    assert sorted(posted) == [utc(2030, 1, 7, 9, m) for m in (0, 5, 10)]
    assert [r.status for r in services[0].store.runs("sales-stale")] == ["posted"] * 3
    for e in engines:
        e.dispose()


def test_a_newer_slot_coalesces_with_a_claim_abandoned_by_a_dead_process(engine: Engine) -> None:
    # Claimed yesterday's 08:00 Berlin and died; back today at 10:00 UTC: one catching-up digest.
    clock, publisher = Clock(utc(2026, 12, 1, 7, 1)), Publisher()
    dead = service(engine, clock, instance="dead")
    subscribe(dead, created=utc(2026, 11, 30))
    assert dead.store.claim("sales-stale", utc(2026, 12, 1, 7), by="dead", now=clock.now) is not None
    clock.now = utc(2026, 12, 2, 10)
    alive = service(engine, clock, publisher=publisher, instance="alive")
    (outcome,) = asyncio.run(alive.run_due())
    assert (outcome.status, outcome.slot) == ("posted", utc(2026, 12, 2, 7))
    (digest,) = publisher.posted
    assert digest.catching_up and digest.missed == 1
    old, = [r for r in alive.store.runs("sales-stale") if r.scheduled_for == utc(2026, 12, 1, 7)]
    assert old.status == "failed" and (old.error or "").startswith("abandoned")
    assert asyncio.run(alive.run_due()) == []  # and nothing more


def test_a_claim_within_its_lease_is_left_alone_and_closed_once_the_lease_is_over(engine: Engine) -> None:
    clock, publisher = Clock(utc(2026, 12, 1, 9, 0, 30)), Publisher()
    dead = service(engine, clock, instance="dead")
    subscribe(dead, cron="*/5 * * * *", tz="UTC", created=utc(2026, 12, 1, 8, 58))
    assert dead.store.claim("sales-stale", utc(2026, 12, 1, 9), by="dead", now=clock.now) is not None
    alive = service(engine, clock, publisher=publisher, instance="alive", lease_minutes=15)
    clock.now = utc(2026, 12, 1, 9, 5, 10)
    asyncio.run(alive.run_due())  # 09:05 posts; the 09:00 claim may still be in progress
    assert svc_runs(alive) == [("posted", "alive"), ("claimed", "dead")]
    clock.now = utc(2026, 12, 1, 9, 20, 10)
    asyncio.run(alive.run_due())
    assert [(r.status, r.scheduled_for.minute) for r in alive.store.runs("sales-stale")] == [
        ("posted", 20), ("posted", 5), ("failed", 0)]


def test_a_digest_run_now_does_not_swallow_the_scheduled_slot(engine: Engine) -> None:
    clock, publisher = Clock(utc(2026, 12, 1, 7, 0, 10)), Publisher()
    svc = service(engine, clock, publisher=publisher)
    subscribe(svc, created=utc(2026, 11, 30, 8))
    assert asyncio.run(svc.run_now("sales-stale")).status == "posted"  # 10 s after the slot, before the tick
    clock.now = utc(2026, 12, 1, 7, 0, 30)
    (outcome,) = asyncio.run(svc.run_due())
    assert (outcome.status, outcome.slot) == ("posted", utc(2026, 12, 1, 7))
    assert len(publisher.posted) == 2
    assert publisher.posted[1].since == utc(2026, 12, 1, 7, 0, 10)  # "since the last digest": the manual one


def test_a_run_taken_over_by_another_process_is_not_overwritten(engine: Engine) -> None:
    clock = Clock(utc(2026, 12, 1, 7, 1))
    svc = service(engine, clock)
    subscribe(svc, created=utc(2026, 11, 30))
    run = svc.store.claim("sales-stale", utc(2026, 12, 1, 7), by="slow", now=clock.now)
    assert run is not None
    assert svc.store.take_over(run.id, by="other", claimed_before=utc(2026, 12, 1, 8), now=clock.now)
    assert not svc.store.finish(run.id, by="slow", status="failed", attempts=9, error="late")
    assert svc.store.finish(run.id, by="other", status="posted", attempts=1, message_ts="1.2")
    assert svc_runs(svc) == [("posted", "other")]
