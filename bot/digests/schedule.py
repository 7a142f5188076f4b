"""When digests are due: APScheduler's cron triggers, read in the digest's own time zone.

The trigger (bot.cron) does the calendar work (month lengths, daylight saving changes) and reads
crontab weekdays the way cron does; this module runs a repeated local hour once and walks the fire times
between the last run and now, so that a process that was down for a while can coalesce what it
missed into one run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.cron import trigger, validate_cron, validate_timezone

# Walking a per-minute schedule over a week of downtime is ~10k steps; beyond this many slots
# the count is reported as "at least".
MAX_SLOTS = 50_000
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Due:
    """The newest slot at or before now, and how many slots since the last run it stands for."""

    slot: datetime
    count: int


def _fires(cron: str, tz: str, after: datetime) -> Iterator[datetime]:
    """The trigger's fire times after `after`, in order, each local wall time once: when clocks go
    back, the repeated hour would otherwise run a daily digest twice."""
    cron_trigger = trigger(cron, tz)
    zone = ZoneInfo(tz)
    seen = after.astimezone(zone).replace(tzinfo=None)
    slot = cron_trigger.get_next_fire_time(None, after + _ONE_US)
    while slot is not None:
        local = slot.astimezone(zone).replace(tzinfo=None)
        if local != seen:
            yield slot.astimezone(timezone.utc)
            seen = local
        slot = cron_trigger.get_next_fire_time(slot, slot)


def due(cron: str, tz: str, *, after: datetime, now: datetime) -> Due | None:
    """The slots in (after, now], coalesced; None when nothing is due."""
    found: Due | None = None
    for slot in _fires(cron, tz, after):
        if slot > now or (found is not None and found.count >= MAX_SLOTS):
            break
        found = Due(slot, found.count + 1 if found else 1)
    return found


def next_slot(cron: str, tz: str, *, after: datetime) -> datetime | None:
    """The first slot strictly after `after` (UTC)."""
    return next(_fires(cron, tz, after), None)


# How far back previous_slot looks, widening: walking fire times costs per slot, so a frequent
# schedule is searched over an hour, not over a year of slots.
_LOOK_BACK = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=400))


def previous_slot(cron: str, tz: str, *, before: datetime) -> datetime | None:
    """The last slot strictly before `before`, within 400 days (for "since the last run")."""
    for horizon in _LOOK_BACK:
        found = due(cron, tz, after=before - horizon, now=before - _ONE_US)
        if found is not None:
            return found.slot
    return None


# -- the <when> of `/crm digest subscribe` ---------------------------------------------------

WHEN_HELP = ('`daily 08:00`, `weekdays 8:30`, `weekly mon 09:00`, `hourly` or a cron expression in quotes '
             'such as `"0 8 * * mon-fri"`, optionally followed by a time zone such as `Europe/Berlin`')
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class WhenError(ValueError):
    """The schedule of a subscription could not be read; the message shows valid examples."""


def parse_when(text: str, default_tz: str = "UTC") -> tuple[str, str]:
    """(cron, time zone) from a human schedule or a quoted cron expression, plus an optional zone."""
    text = text.strip().replace("“", '"').replace("”", '"')
    quoted = re.fullmatch(r'"([^"]+)"\s*(\S+)?', text)
    if quoted:
        cron, tz = quoted[1].strip(), quoted[2] or default_tz
    else:
        words = text.split()
        tz = default_tz
        if words and ("/" in words[-1] or words[-1].upper() == "UTC"):
            tz = words.pop()
        cron = _human_cron(words)
    if len(cron) > 64 or len(tz) > 64:
        raise WhenError(f"that schedule is too long to store (64 characters at most). Examples: {WHEN_HELP}")
    try:
        validate_cron(cron)
        validate_timezone(tz)
    except ValueError as exc:
        raise WhenError(f"{exc}. Examples: {WHEN_HELP}") from None
    return cron, tz


def _human_cron(words: list[str]) -> str:
    lowered = [w.lower() for w in words]
    if lowered == ["hourly"]:
        return "0 * * * *"
    if len(lowered) == 2 and lowered[0] in ("daily", "weekdays"):
        hour, minute = _time(lowered[1])
        return f"{minute} {hour} * * {'*' if lowered[0] == 'daily' else 'mon-fri'}"
    if len(lowered) == 3 and lowered[0] == "weekly" and lowered[1][:3] in _DAYS:
        hour, minute = _time(lowered[2])
        return f"{minute} {hour} * * {lowered[1][:3]}"
    if len(words) == 5:  # an unquoted cron expression
        return " ".join(words)
    raise WhenError(f'cannot read the schedule "{" ".join(words)}". Examples: {WHEN_HELP}')


def _time(text: str) -> tuple[int, int]:
    match = _TIME.fullmatch(text)
    if not match:
        raise WhenError(f'"{text}" is not a time of day such as 08:00. Examples: {WHEN_HELP}')
    return int(match[1]), int(match[2])
