"""Dates for every insight: parsing `date_from`/`date_to` and the buckets between them.

Follows spec/trends.md §3: values are read in the project's timezone, relative forms are
computed from the injectable clock's "now" in that timezone, ranges are inclusive at both
ends, and buckets are wall-clock intervals (a 23- or 25-hour day is one day bucket; hours on a
DST day are the real hours).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.errors import ValidationError

INTERVALS = ("hour", "day", "week", "month")
_RELATIVE = re.compile(r"^(?P<sign>-?)(?P<n>\d*)(?P<unit>[hdwmqyMs])(?P<edge>Start|End)?$")
_ABSOLUTE_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_END_OF_DAY = time(23, 59, 59, 999999)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory, too long
        raise ValidationError(f"unknown timezone {name!r}", attr="timezone") from None


def parse_interval(value) -> str:
    interval = str(value or "day").lower()
    if interval == "minute":  # trends maps minute to hour (spec §2)
        interval = "hour"
    if interval not in INTERVALS:
        raise ValidationError(f"interval must be one of {', '.join(INTERVALS)}", attr="interval")
    return interval


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    days_in_month = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, days_in_month))


def _local(naive: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` (fold=0: the first of an ambiguous hour)."""
    return naive.replace(tzinfo=tz)


@dataclass(frozen=True)
class ParsedDate:
    moment: datetime  # aware, in the project timezone
    relative: bool
    hourly: bool  # the string's unit was hours (or minutes/seconds)
    has_edge: bool  # Start/End suffix
    unit: str | None = None  # the relative unit letter
    date_only: bool = False  # `YYYY-MM-DD`: the whole day when it ends a range


def parse_date(value: str, *, now: datetime, tz: ZoneInfo, field: str) -> ParsedDate:
    text = str(value).strip()
    match = _RELATIVE.match(text)
    if match:
        local_now = now.astimezone(tz).replace(tzinfo=None)
        n = int(match["n"] or 0) * (-1 if match["sign"] else 1)
        unit, edge = match["unit"], match["edge"]
        if unit in "hMs":  # real elapsed time: `-24h` is 24 real hours across a DST change
            step = {"h": timedelta(hours=n), "M": timedelta(minutes=n)}.get(
                unit, timedelta(seconds=n))  # fmt: skip
            moment = (now.astimezone(UTC) + step).astimezone(tz)
            if edge and unit == "h":
                start = moment.replace(minute=0, second=0, microsecond=0)
                end = start.replace(minute=59, second=59, microsecond=999999)
                moment = start if edge == "Start" else end
            return ParsedDate(moment, True, True, bool(edge), unit)
        if unit == "d":
            moment = local_now + timedelta(days=n)
        elif unit == "w":
            moment = local_now + timedelta(weeks=n)
        elif unit == "q":
            moment = local_now + timedelta(weeks=13 * n)
        elif unit == "m":
            moment = _add_months(local_now, n)
        else:  # "y"
            moment = _add_months(local_now, 12 * n)
        if edge:
            moment = _edge(moment, unit, edge)
        return ParsedDate(_local(moment, tz), True, False, bool(edge), unit)
    absolute = _ABSOLUTE_DATE.match(text)
    try:
        if absolute:
            moment = datetime(int(absolute[1]), int(absolute[2]), int(absolute[3]))
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{field} is not a date: {text[:40]!r}", attr=field) from None
    if moment.tzinfo is not None:
        return ParsedDate(moment.astimezone(tz), False, not absolute, False)
    return ParsedDate(_local(moment, tz), False, not absolute, False, None, bool(absolute))


def _edge(moment: datetime, unit: str, edge: str) -> datetime:
    """`Start`/`End` suffixes (spec §3.1); weeks have none (`wStart` is just the moment)."""
    start = {
        "h": moment.replace(minute=0, second=0, microsecond=0),
        "d": moment.replace(hour=0, minute=0, second=0, microsecond=0),
        "m": moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
        "y": moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0),
    }.get(unit)
    if start is None:
        return moment
    if edge == "Start":
        return start
    length = {
        "h": lambda s: s + timedelta(hours=1),
        "d": lambda s: s + timedelta(days=1),
        "m": lambda s: _add_months(s, 1),
        "y": lambda s: _add_months(s, 12),
    }[unit]
    return length(start) - timedelta(microseconds=1)


def bucket_start(moment: datetime, interval: str, week_start_day: int) -> datetime:
    """The start of the bucket holding `moment`, as a wall-clock time in its own timezone."""
    tz = moment.tzinfo
    wall = moment.replace(tzinfo=None)
    if interval == "hour":
        # On a fall-back day two real hours share a wall-clock hour: keep the right one.
        return moment.replace(minute=0, second=0, microsecond=0)
    start = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "week":
        offset = (start.weekday() + 1) % 7 if week_start_day == 0 else start.weekday()
        start -= timedelta(days=offset)
    elif interval == "month":
        start = start.replace(day=1)
    return start.replace(tzinfo=tz)


def next_bucket(start: datetime, interval: str) -> datetime:
    if interval == "hour":  # real hours: step in UTC
        tz = start.tzinfo
        return (start.astimezone(ZoneInfo("UTC")) + timedelta(hours=1)).astimezone(tz)
    wall = start.replace(tzinfo=None)
    if interval == "day":
        wall += timedelta(days=1)
    elif interval == "week":
        wall += timedelta(weeks=1)
    else:
        wall = _add_months(wall, 1)
    return wall.replace(tzinfo=start.tzinfo)


@dataclass(frozen=True)
class DateRange:
    date_from: datetime  # aware, project timezone; inclusive
    date_to: datetime  # aware, project timezone; inclusive
    interval: str
    timezone: str
    week_start_day: int = 0

    def buckets(self) -> list[datetime]:
        """Every bucket start from trunc(date_from) to trunc(date_to), zero-filled by callers."""
        out, current = [], bucket_start(self.date_from, self.interval, self.week_start_day)
        last = bucket_start(self.date_to, self.interval, self.week_start_day)
        while current <= last:
            out.append(current)
            current = next_bucket(current, self.interval)
        return out

    def utc_bounds(self) -> tuple[datetime, datetime]:
        utc = ZoneInfo("UTC")
        return self.date_from.astimezone(utc), self.date_to.astimezone(utc)


def date_range(
    filters: dict,
    *,
    now: datetime,
    timezone: str,
    week_start_day: int = 0,
    first_event: datetime | None = None,
    interval: str | None = None,
) -> DateRange:
    """The inclusive range an insight covers (spec §3.1 normalisation included)."""
    tz = zone(timezone)
    interval = parse_interval(interval if interval is not None else filters.get("interval"))
    explicit = str(filters.get("explicit_date", "")).lower() in ("true", "1")
    hourly = interval == "hour"
    raw_from = filters.get("date_from")
    if not raw_from:  # missing: 00:00 seven days before today
        today = now.astimezone(tz).replace(tzinfo=None).date()
        parsed_from = ParsedDate(_local(datetime.combine(today - timedelta(days=7), time()), tz),
                                 False, False, False)  # fmt: skip
    elif raw_from == "all":
        start = first_event.astimezone(tz) if first_event else now.astimezone(tz) - timedelta(
            weeks=1)  # fmt: skip
        parsed_from = ParsedDate(start, False, False, False)
    else:
        parsed_from = parse_date(raw_from, now=now, tz=tz, field="date_from")
    raw_to = filters.get("date_to")
    parsed_to = (parse_date(raw_to, now=now, tz=tz, field="date_to") if raw_to
                 else ParsedDate(now.astimezone(tz), True, False, False))  # fmt: skip

    date_from, date_to = parsed_from.moment, parsed_to.moment
    if not explicit:
        # Relative values truncate to their hour (unit h) or day; absolute ones keep the hour
        # in hourly queries and start at 00:00 otherwise.
        by_hour = parsed_from.unit == "h" if parsed_from.relative else hourly
        if by_hour:
            date_from = date_from.replace(minute=0, second=0, microsecond=0)
        else:
            date_from = _local(datetime.combine(date_from.date(), time()), tz)
    if parsed_to.date_only:  # a date alone means the whole day, whatever the interval
        date_to = _local(datetime.combine(date_to.date(), _END_OF_DAY), tz)
    elif not explicit:
        if not (hourly or parsed_to.unit == "h"):
            date_to = _local(datetime.combine(date_to.date(), _END_OF_DAY), tz)
        elif parsed_to.relative and not parsed_to.has_edge:
            date_to = date_to.replace(minute=59, second=59, microsecond=999999)
    if date_from > date_to:
        raise ValidationError("date_from is after date_to", attr="date_from")
    return DateRange(date_from, date_to, interval, timezone, week_start_day)
