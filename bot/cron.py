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


_WEEKDAY_WORDS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
                  "sat": "Saturday", "sun": "Sunday"}
_WEEK_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # how people list days: Monday first


def describe(cron: str) -> str:
    """A crontab expression in words: "every weekday at 08:00", "every Monday at 09:30",
    "on the 1st of every month at 07:00". Forms with steps, ranges of hours or minutes, months,
    or both a day of the month and a day of the week fall back to `on the cron schedule "<expression>"`."""
    fallback = f'on the cron schedule "{cron.strip()}"'
    fields = cron.split()
    if len(fields) != 5:
        return fallback
    minute, hour, day, month, weekday = fields
    if not minute.isdigit() or int(minute) > 59 or month != "*":
        return fallback
    hours = hour.split(",")
    if not all(h.isdigit() and int(h) <= 23 for h in hours):
        return fallback
    at = "at " + _and([f"{int(h):02d}:{int(minute):02d}" for h in sorted(hours, key=int)])
    try:
        days = crontab_weekdays(weekday)
    except ValueError:
        return fallback
    if day != "*":
        dates = day.split(",")
        if weekday != "*" or not all(d.isdigit() and 1 <= int(d) <= 31 for d in dates):
            return fallback
        return f"on the {_and([_ordinal(int(d)) for d in sorted(dates, key=int)])} of every month {at}"
    names = set(_DAY_NAMES) if days == "*" else set(days.split(","))
    if names == set(_DAY_NAMES):
        return f"every day {at}"
    if names == {"mon", "tue", "wed", "thu", "fri"}:
        return f"every weekday {at}"
    return f"every {_and([_WEEKDAY_WORDS[d] for d in _WEEK_ORDER if d in names])} {at}"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
