"""Crontab expressions and time zones: one reading, shared by the config and the scheduler.

A 5-field crontab expression becomes APScheduler's trigger here and nowhere else, so what
app.toml accepts, what `/crm digest subscribe` accepts and when the scheduler fires cannot
disagree. This module imports nothing of the bot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_EXAMPLE = 'such as "0 8 * * mon-fri" (minute hour day month weekday)'


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday, names, ranges, lists, steps) as day names.

    APScheduler 3's `from_crontab` counts 0 as Monday, one day off from every crontab; giving it
    names instead of numbers keeps `0 8 * * 1` on Monday, as users of cron expect."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        spec, _, step_text = part.partition("/")
        if step_text and (not step_text.isdigit() or int(step_text) < 1):
            raise ValueError(f'invalid step "/{step_text}" in the day-of-week field "{field}"')
        step = int(step_text) if step_text else 1
        if spec == "*":
            first, last = 0, 6
        else:
            low, _, high = spec.partition("-")
            first, last = _day(low, field), _day(high, field) if high else _day(low, field)
            if high and last == 0 and first > 0:
                last = 7  # "5-7" or "fri-sun": up to Sunday
            if not high and step_text:
                last = 6  # "1/2": from Monday on, every other day
        if first > last:
            raise ValueError(f'day-of-week range "{spec}" runs backwards in "{field}"')
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _day(text: str, field: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text[:3] in _DAY_NAMES and len(text) == 3:
        return _DAY_NAMES.index(text)
    raise ValueError(f'"{text}" is not a day of the week (0-7 or sun-sat) in "{field}"')


def trigger(cron: str, tz: str) -> CronTrigger:
    """APScheduler's trigger for a 5-field crontab expression in an IANA time zone."""
    # Imported here: every command reads the config, few of them ever read a cron expression.
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, weekday = cron.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=crontab_weekdays(weekday),
                       timezone=ZoneInfo(tz))


def validate_cron(expr: str) -> None:
    """Raise ValueError with a valid example unless expr is a 5-field crontab expression."""
    if len(expr.split()) != 5:
        raise ValueError(f'expected a 5-field cron expression {_EXAMPLE}, got "{expr}"')
    try:
        trigger(expr, "UTC")
    except ValueError as exc:
        raise ValueError(f'invalid cron expression "{expr}" ({exc}); expected one {_EXAMPLE}') from None


def validate_timezone(name: str) -> None:
    """Raise ValueError unless name is an IANA time zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'unknown time zone "{name}"; expected an IANA name such as "Europe/Berlin" or "UTC"'
        ) from None
