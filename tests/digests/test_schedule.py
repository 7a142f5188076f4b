"""Cron slots in several time zones, across daylight saving changes; coalescing; the <when> parser."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.digests.schedule import WhenError, due, next_slot, parse_when, previous_slot

UTC = timezone.utc


@pytest.mark.parametrize(("cron", "tz", "after", "expected"), [
    # Berlin: 08:00 is 07:00 UTC in winter, 06:00 UTC from the last Sunday of March (29 March 2026).
    ("0 8 * * *", "Europe/Berlin", datetime(2026, 3, 27, 12, tzinfo=UTC), datetime(2026, 3, 28, 7, tzinfo=UTC)),
    ("0 8 * * *", "Europe/Berlin", datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 29, 6, tzinfo=UTC)),
    # 02:30 does not exist in Berlin on 29 March 2026: it runs at 03:30 local (01:30 UTC), the day is not skipped.
    ("30 2 * * *", "Europe/Berlin", datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    # New York falls back on 1 November 2026: 09:00 is 13:00 UTC before, 14:00 UTC after.
    ("0 9 * * *", "America/New_York", datetime(2026, 10, 31, 14, tzinfo=UTC), datetime(2026, 11, 1, 14, tzinfo=UTC)),
    ("0 9 * * *", "America/New_York", datetime(2026, 10, 30, 14, tzinfo=UTC), datetime(2026, 10, 31, 13, tzinfo=UTC)),
    # Half-hour offset, weekdays only: Friday 4 December 2026 -> Monday 7 December.
    ("0 9 * * mon-fri", "Asia/Kolkata", datetime(2026, 12, 4, 4, tzinfo=UTC), datetime(2026, 12, 7, 3, 30, tzinfo=UTC)),
    ("*/15 * * * *", "UTC", datetime(2026, 12, 2, 10, 7, tzinfo=UTC), datetime(2026, 12, 2, 10, 15, tzinfo=UTC)),
])
def test_next_slot_in_the_digests_time_zone(cron: str, tz: str, after: datetime, expected: datetime) -> None:
    assert next_slot(cron, tz, after=after) == expected


def test_missed_slots_coalesce_into_the_newest() -> None:
    # Down from Monday 09:00 UTC to Thursday 10:00 UTC: Tue, Wed and Thu 08:00 Berlin (07:00 UTC) were missed.
    found = due("0 8 * * mon-fri", "Europe/Berlin", after=datetime(2026, 11, 30, 9, tzinfo=UTC),
                now=datetime(2026, 12, 3, 10, tzinfo=UTC))
    assert found is not None
    assert (found.slot, found.count) == (datetime(2026, 12, 3, 7, tzinfo=UTC), 3)


def test_nothing_is_due_before_the_next_slot_and_a_slot_is_due_at_its_own_time() -> None:
    after = datetime(2026, 12, 3, 7, tzinfo=UTC)
    assert due("0 8 * * *", "Europe/Berlin", after=after, now=datetime(2026, 12, 4, 6, 59, tzinfo=UTC)) is None
    found = due("0 8 * * *", "Europe/Berlin", after=after, now=datetime(2026, 12, 4, 7, tzinfo=UTC))
    assert found is not None and (found.slot, found.count) == (datetime(2026, 12, 4, 7, tzinfo=UTC), 1)


@pytest.mark.parametrize(("text", "expected"), [
    ("daily 08:00", ("0 8 * * *", "UTC")),
    ("weekdays 8:30 Europe/Berlin", ("30 8 * * mon-fri", "Europe/Berlin")),
    ("weekly Monday 09:15", ("15 9 * * mon", "UTC")),
    ("hourly", ("0 * * * *", "UTC")),
    ('"*/30 9-17 * * mon-fri" America/New_York', ("*/30 9-17 * * mon-fri", "America/New_York")),
    ("0 7 * * 1", ("0 7 * * 1", "UTC")),
])
def test_when_is_read_from_words_or_cron(text: str, expected: tuple[str, str]) -> None:
    assert parse_when(text) == expected


@pytest.mark.parametrize(("text", "needle"), [
    ("every morning", 'cannot read the schedule "every morning"'),
    ("daily 25:00", '"25:00" is not a time of day'),
    ('"61 * * * *"', 'invalid cron expression "61 * * * *"'),
    ("daily 08:00 Europe/Atlantis", 'unknown time zone "Europe/Atlantis"'),
])
def test_bad_schedules_are_refused_with_a_valid_example(text: str, needle: str) -> None:
    with pytest.raises(WhenError) as caught:
        parse_when(text)
    assert needle in str(caught.value) and "weekdays 8:30" in str(caught.value)


@pytest.mark.parametrize(("weekday", "expected_day"), [
    ("1", 7), ("0", 6), ("7", 6), ("1-5", 7), ("6,0", 5), ("sat", 5), ("*/2", 5), ("2-4", 8), ("5-7", 5),
])
def test_crontab_weekday_numbers_mean_what_they_mean_in_cron(weekday: str, expected_day: int) -> None:
    # After Friday 4 December 2026 12:00 UTC: Sat 5, Sun 6, Mon 7 ... Fri 11 December.
    slot = next_slot(f"0 7 * * {weekday}", "UTC", after=datetime(2026, 12, 4, 12, tzinfo=UTC))
    assert slot == datetime(2026, 12, expected_day, 7, tzinfo=UTC)


def test_a_repeated_local_hour_runs_once_when_clocks_go_back() -> None:
    # New York repeats 01:00-02:00 on 1 November 2026: 01:30 must post once that day, not twice.
    found = due("30 1 * * *", "America/New_York", after=datetime(2026, 10, 31, 12, tzinfo=UTC),
                now=datetime(2026, 11, 2, 12, tzinfo=UTC))
    assert found is not None and found.count == 2
    after_first = next_slot("30 1 * * *", "America/New_York", after=datetime(2026, 11, 1, 5, 30, tzinfo=UTC))
    assert after_first == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(("cron", "expected"), [
    ("*/5 * * * *", datetime(2026, 12, 2, 7, 0, tzinfo=UTC)),
    ("0 8 * * mon-fri", datetime(2026, 12, 2, 7, 0, tzinfo=UTC)),  # 08:00 Berlin
    ("0 9 1 * *", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
    ("0 9 1 1 *", datetime(2026, 1, 1, 8, 0, tzinfo=UTC)),  # found by the widest look-back
    ("0 9 30 2 *", None),  # never
])
def test_the_previous_slot_walks_only_as_far_back_as_it_must(cron: str, expected: datetime | None,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.digests import schedule

    steps = 0
    real = schedule._fires

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal steps
        for slot in real(*args, **kwargs):
            steps += 1
            yield slot

    monkeypatch.setattr(schedule, "_fires", counting)
    assert previous_slot(cron, "Europe/Berlin", before=datetime(2026, 12, 2, 7, 3, tzinfo=UTC)) == expected
    assert steps < 500, steps  # a year of five-minute slots would be over 100,000 steps
