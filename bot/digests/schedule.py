"""When digests are due: APScheduler's cron triggers, read in the digest's own time zone.

The trigger does the calendar work (day-of-week names, month lengths, daylight saving changes);
this module only walks its fire times between the last run and now, so that a process that was
down for a while can coalesce what it missed into one run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

# Walking a per-minute schedule over a week of downtime is ~10k steps; beyond this many slots
# the count is reported as "at least".
MAX_SLOTS = 50_000
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Due:
    """The newest slot at or before now, and how many slots since the last run it stands for."""

    slot: datetime
    count: int


def trigger(cron: str, tz: str) -> CronTrigger:
    """APScheduler's trigger for a 5-field crontab expression in an IANA time zone."""
    return CronTrigger.from_crontab(cron, timezone=ZoneInfo(tz))


def due(cron: str, tz: str, *, after: datetime, now: datetime) -> Due | None:
    """The slots in (after, now], coalesced; None when nothing is due."""
    cron_trigger = trigger(cron, tz)
    slot = cron_trigger.get_next_fire_time(None, after + _ONE_US)
    if slot is None or slot > now:
        return None
    count = 1
    while count < MAX_SLOTS:
        following = cron_trigger.get_next_fire_time(slot, slot)
        if following is None or following > now:
            break
        slot, count = following, count + 1
    return Due(slot.astimezone(timezone.utc), count)


def next_slot(cron: str, tz: str, *, after: datetime) -> datetime | None:
    """The first slot strictly after `after` (UTC)."""
    slot = trigger(cron, tz).get_next_fire_time(None, after + _ONE_US)
    return slot.astimezone(timezone.utc) if slot else None


def previous_slot(cron: str, tz: str, *, before: datetime, horizon: timedelta = timedelta(days=400)) -> datetime | None:
    """The last slot strictly before `before`, looking back at most `horizon` (for "since the last run")."""
    found = due(cron, tz, after=before - horizon, now=before - _ONE_US)
    return found.slot if found else None


# -- the <when> of `/crm digest subscribe` ---------------------------------------------------

WHEN_HELP = ('`daily 08:00`, `weekdays 8:30`, `weekly mon 09:00`, `hourly` or a cron expression in quotes '
             'such as `"0 8 * * mon-fri"`, optionally followed by a time zone such as `Europe/Berlin`')
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class WhenError(ValueError):
    """The schedule of a subscription could not be read; the message shows valid examples."""


def parse_when(text: str, default_tz: str = "UTC") -> tuple[str, str]:
    """(cron, time zone) from a human schedule or a quoted cron expression, plus an optional zone."""
    from bot.config import validate_cron, validate_timezone

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
