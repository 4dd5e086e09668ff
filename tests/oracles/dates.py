"""Date ranges and interval buckets for the oracles.

Written from `/work/shared/spec/trends.md` §2 (parameters) and §3 (dates, buckets, timezone),
with `README.md` of the spec folder winning where they disagree (`date_to` defaults to now).

Every datetime this module returns is timezone-aware and carries the project timezone's UTC
offset *at that instant* as a fixed-offset tzinfo (`datetime.timezone`). The wall-clock fields are
the local time in the project timezone. We do not return `ZoneInfo`-aware values on purpose:
Python compares two datetimes that share one `ZoneInfo` object by wall time and ignores `fold`,
so the two 01:00 hours of a fall-back day would compare (and hash) equal and collapse into one
dict key. Fixed offsets keep them apart and still print as local time.

Decisions where the spec is silent or ambiguous are marked "Decision:" and listed in the report.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as fixed_offset
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

INTERVALS = ("hour", "day", "week", "month")

# §3.1: `date_from=all` counts events after 2015-01-01 only.
EARLIEST_TIMESTAMP = datetime(2015, 1, 1, tzinfo=UTC)

# §3.1: PostHog's fallback for `date_from=all` when the project has no events is "a fixed
# fallback in the past": its code uses now − 1 week (DEFAULT_EARLIEST_TIME_DELTA).
ALL_WITHOUT_EVENTS_FALLBACK = timedelta(weeks=1)

# §3.2: the fixed lengths PostHog uses when it counts intervals in seconds.
INTERVAL_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# §3.1 absolute forms: `YYYY-MM-DD`, `YYYY-M-D`, `YYYY-MM-DD HH:MM:SS`,
# ISO `YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±hh:mm]`.
_DATE_ONLY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?"
)
# §3.1 relative forms: optional `-`, optional number, unit letter, optional Start/End.
# h hours, d days, w weeks, m months, q quarters, y years, M minutes, s seconds.
_RELATIVE = re.compile(r"-?(\d+)?([hdwmqysM])(Start|End)?")


# ---------------------------------------------------------------------------------------------
# Small helpers


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone: unknown timezone {timezone!r}") from exc


def _require_aware(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{field}: an aware datetime is needed, got {value!r}")
    return value


def _fixed(value: datetime, zone: ZoneInfo) -> datetime:
    """`value` as local time in `zone`, with a fixed-offset tzinfo (see the module docstring)."""
    local = value.astimezone(zone)
    return local.replace(tzinfo=fixed_offset(local.utcoffset()))


def _localize(wall: datetime, zone: ZoneInfo) -> datetime:
    """The real instant of a naive local wall time in `zone`, as a fixed-offset datetime.

    Ambiguous wall times (a fall-back hour) take the first occurrence; wall times inside a
    spring-forward gap move forward by the gap (02:30 → 03:30 in New York), which is what a
    round trip through UTC gives.
    """
    aware = wall.replace(tzinfo=zone, fold=0)
    return _fixed(aware.astimezone(UTC), zone)


def _wall(value: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall time of an instant."""
    return value.astimezone(zone).replace(tzinfo=None)


def _floor_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _days_in_month(year: int, month: int) -> int:
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return (next_month - timedelta(days=1)).day


def _shift_months(wall: datetime, months: int, *, day: int | None = None) -> datetime:
    """Calendar month arithmetic; the day is clamped to the target month (Mar 31 − 1m = Feb 28)."""
    index = wall.year * 12 + (wall.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    wanted_day = wall.day if day is None else day
    return wall.replace(year=year, month=month, day=min(wanted_day, _days_in_month(year, month)))


def is_truthy(value: object) -> bool:
    """Boolean parameters: JSON true, "true" (any case) or 1 (spec README, trends.md §2)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return False


def normalize_interval(interval: str | None) -> str:
    """§2: `hour`/`day`/`week`/`month`, case-insensitive, default `day`; `minute` is silently
    mapped to `hour` (trends); anything else is an error."""
    if interval is None:
        return "day"
    if not isinstance(interval, str):
        raise ValueError(f"interval: unsupported interval {interval!r}")
    name = interval.strip().lower()
    if name == "minute":
        return "hour"
    if name not in INTERVALS:
        raise ValueError(f"interval: unsupported interval {interval!r}")
    return name


def _week_mode(week_start_day: int) -> int:
    # Project.week_start_day: 0 = Sunday (ClickHouse toStartOfWeek mode 0), 1 = Monday (mode 3).
    if week_start_day not in (0, 1):
        raise ValueError(
            f"week_start_day: must be 0 (Sunday) or 1 (Monday), got {week_start_day!r}"
        )
    return week_start_day


# ---------------------------------------------------------------------------------------------
# Parsing one `date_from` / `date_to` value


class _Parsed:
    """One parsed date value: the instant, and what kind of string produced it."""

    def __init__(
        self, value: datetime, kind: str, unit: str | None = None, position: str | None = None
    ):
        self.value = value  # ZoneInfo-aware local time
        self.kind = kind  # "absolute" | "date_only" | "relative"
        self.unit = unit  # relative unit letter
        self.position = position  # "Start" | "End" | None


def _parse_value(raw: object, field: str, *, now_local: datetime, zone: ZoneInfo) -> _Parsed:
    if isinstance(raw, datetime):
        value = raw.replace(tzinfo=zone) if raw.tzinfo is None else raw.astimezone(zone)
        return _Parsed(value, "absolute")
    if isinstance(raw, date):
        return _Parsed(datetime.combine(raw, time(), tzinfo=zone), "date_only")
    if not isinstance(raw, str):
        raise ValueError(f"{field}: cannot parse {raw!r} as a date")
    text = raw.strip()

    match = _DATE_ONLY.fullmatch(text)
    if match:
        wall = _checked_datetime(field, raw, int(match[1]), int(match[2]), int(match[3]))
        # §3.1: naive values are in the project timezone; a date alone means 00:00 of that day.
        return _Parsed(_localize(wall, zone).astimezone(zone), "date_only")

    match = _DATE_TIME.fullmatch(text)
    if match:
        return _Parsed(_parse_date_time(match, field, raw, zone), "absolute")

    match = _RELATIVE.fullmatch(text)
    if match:
        number, unit, position = match[1], match[2], match[3]
        value = _relative(now_local, int(number or 0), unit, position, zone)
        return _Parsed(value, "relative", unit, position)

    raise ValueError(f"{field}: cannot parse {raw!r} as a date")


def _checked_datetime(field: str, raw: object, *parts: int) -> datetime:
    try:
        return datetime(*parts)
    except ValueError as exc:
        raise ValueError(f"{field}: invalid date {raw!r}") from exc


def _parse_date_time(match: re.Match, field: str, raw: object, zone: ZoneInfo) -> datetime:
    fraction = (match[7] or "").ljust(6, "0")
    wall = _checked_datetime(
        field,
        raw,
        int(match[1]),
        int(match[2]),
        int(match[3]),
        int(match[4]),
        int(match[5]),
        int(match[6] or 0),
        int(fraction or 0),
    )
    offset_text = match[8]
    if offset_text is None:
        # §3.1: no explicit offset → the wall time is in the project timezone.
        return _localize(wall, zone).astimezone(zone)
    if offset_text == "Z":
        offset = timedelta(0)
    else:
        sign = -1 if offset_text[0] == "-" else 1
        digits = offset_text[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"{field}: invalid UTC offset in {raw!r}")
        offset = sign * timedelta(hours=hours, minutes=minutes)
    return wall.replace(tzinfo=fixed_offset(offset)).astimezone(zone)


def _relative(now_local: datetime, number: int, unit: str, position: str | None, zone: ZoneInfo):
    """§3.1 relative dates, computed from "now" in the project timezone.

    Decision: hours, minutes and seconds are real elapsed time (`-24h` is 24 real hours even
    across a DST change); days, weeks, quarters, months and years are calendar (wall-clock)
    arithmetic, so `-1d` at 10:00 is 10:00 yesterday even on a 23-hour day. PostHog does all of
    them as wall-clock arithmetic; the two only differ inside a DST change.
    """
    if unit in ("h", "M", "s"):
        step = {"h": timedelta(hours=number), "M": timedelta(minutes=number)}.get(
            unit, timedelta(seconds=number)
        )
        value = (now_local.astimezone(UTC) - step).astimezone(zone)
        if unit == "h" and position == "Start":
            value = value.replace(minute=0, second=0, microsecond=0)
        elif unit == "h" and position == "End":
            value = value.replace(minute=59, second=59, microsecond=999999)
        return value

    wall = now_local.replace(tzinfo=None)
    if unit == "d":
        wall -= timedelta(days=number)
        if position == "Start":
            wall = datetime.combine(wall.date(), time())
        elif position == "End":
            wall = datetime.combine(wall.date(), time(23, 59, 59, 999999))
    elif unit == "w":
        # §3.1: `w` has no Start/End handling (`wStart` behaves like "now").
        wall -= timedelta(weeks=number)
    elif unit == "q":
        # §3.1: a quarter is 13 weeks; no Start/End handling either.
        wall -= timedelta(weeks=13 * number)
    elif unit == "m":
        # §3.1: `mStart` = first day of the month, `-1mEnd` = last day of the previous month
        # (day 31 clamped).
        day = {"Start": 1, "End": 31}.get(position or "")
        wall = _shift_months(wall, -number, day=day)
    elif unit == "y":
        wall = _shift_months(wall, -12 * number)
        if position == "Start":
            wall = wall.replace(month=1, day=1)
        elif position == "End":
            # Decision: `yEnd` is December 31. (PostHog sets only day=31 of the current month.)
            wall = wall.replace(month=12, day=31)
    return _localize(wall, zone).astimezone(zone)


def _start_of_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def _start_of_day(value: datetime, zone: ZoneInfo) -> datetime:
    wall = _wall(value, zone)
    return _localize(datetime.combine(wall.date(), time()), zone).astimezone(zone)


def _end_of_day(value: datetime, zone: ZoneInfo) -> datetime:
    wall = _wall(value, zone)
    return _localize(datetime.combine(wall.date(), time(23, 59, 59, 999999)), zone).astimezone(zone)


def _end_of_hour(value: datetime) -> datetime:
    return value.replace(minute=59, second=59, microsecond=999999)


# ---------------------------------------------------------------------------------------------
# The range


def parse_date_range(
    filter: dict,
    *,
    now: datetime,
    timezone: str,
    first_event_time: datetime | None,
    interval: str | None,
) -> tuple[datetime, datetime]:
    """The normalised, inclusive [date_from, date_to] of a filter (trends.md §3.1).

    `first_event_time` is the project's earliest event after 2015-01-01 (see
    `first_event_time()`), used for `date_from=all`. The returned `date_from` is *not* yet rounded
    to the start of its interval; `event_range()` does that where PostHog does.
    """
    zone = _zone(timezone)
    interval = normalize_interval(interval)
    now_local = _require_aware(now, "now").astimezone(zone)
    explicit = is_truthy(filter.get("explicit_date"))
    date_from = _date_from(
        filter.get("date_from"), interval, explicit, now_local, first_event_time, zone
    )
    date_to = _date_to(filter.get("date_to"), interval, explicit, now_local, zone)
    return _fixed(date_from, zone), _fixed(date_to, zone)


def _date_from(raw, interval, explicit, now_local, first_event_time, zone) -> datetime:
    if raw is None or raw == "":
        # §3.1: missing date_from → start of today minus 7 days (`-7d`).
        today = datetime.combine(now_local.replace(tzinfo=None).date(), time())
        value = _localize(today - timedelta(days=7), zone).astimezone(zone)
        kind, unit = "absolute", None
    elif raw == "all":
        # §3.1: the earliest event; a fixed fallback in the past when there are none.
        if first_event_time is None:
            value = now_local - ALL_WITHOUT_EVENTS_FALLBACK
        else:
            value = _require_aware(first_event_time, "first_event_time").astimezone(zone)
        kind, unit = "absolute", None
    else:
        parsed = _parse_value(raw, "date_from", now_local=now_local, zone=zone)
        value, kind, unit = parsed.value, parsed.kind, parsed.unit

    if explicit:
        # §2: explicit_date → no rounding of dates to day/interval boundaries.
        return value
    if kind == "relative":
        # §3.1: relative values are truncated to 00:00 of the resulting day, or to the start of
        # the hour when the unit was hours (so `-7d` with an hour interval still starts at 00:00).
        return _start_of_hour(value) if unit == "h" else _start_of_day(value, zone)
    # §3.1: truncated to 00:00 of its day, except hourly queries, which keep the hour.
    return _start_of_hour(value) if interval == "hour" else _start_of_day(value, zone)


def _date_to(raw, interval, explicit, now_local, zone) -> datetime:
    if raw is None or raw == "":
        # README: `date_to` defaults to now.
        parsed = _Parsed(now_local, "missing")
    else:
        parsed = _parse_value(raw, "date_to", now_local=now_local, zone=zone)

    if parsed.kind == "date_only":
        # Decision: a date alone always means the whole day (23:59:59.999999), for hourly
        # queries and with explicit_date too (funnels.md §1.2 and retention_paths.md B2 say
        # "YYYY-MM-DD means end of that day").
        return _end_of_day(parsed.value, zone)
    if explicit:
        return parsed.value
    hourly = interval == "hour" or (parsed.kind == "relative" and parsed.unit == "h")
    if not hourly:
        # §3.1: non-hourly queries end at 23:59:59.999999 of date_to's day.
        return _end_of_day(parsed.value, zone)
    if parsed.kind == "missing" or (parsed.kind == "relative" and parsed.position is None):
        # §3.1: hourly with a relative/missing date_to (without Start/End) → HH:59:59.999999.
        return _end_of_hour(parsed.value)
    # §3.1: an absolute hourly date_to (or a Start/End one) is kept as given.
    return parsed.value


def first_event_time(timestamps) -> datetime | None:
    """§3.1: the earliest event timestamp after 2015-01-01, or None without such events."""
    candidates = [ts for ts in timestamps if ts > EARLIEST_TIMESTAMP]
    return min(candidates) if candidates else None


def should_round(
    date_from: datetime, date_to: datetime, *, interval: str, explicit_date=False
) -> bool:
    """§3.1: whether the event range's lower bound is rounded down to its interval's start.

    Always for week/month; for day/hour only when the range spans at least 2 intervals (so
    `-24h` with a day interval is not rounded). Never with explicit_date.
    """
    interval = normalize_interval(interval)
    if is_truthy(explicit_date):
        return False
    if interval in ("week", "month"):
        return True
    return (date_to - date_from).total_seconds() >= 2 * INTERVAL_SECONDS[interval]


def event_range(
    date_from: datetime,
    date_to: datetime,
    *,
    interval: str,
    timezone: str,
    week_start_day: int,
    explicit_date=False,
) -> tuple[datetime, datetime]:
    """§3.1: the inclusive bounds events are counted between."""
    lower = date_from
    if should_round(date_from, date_to, interval=interval, explicit_date=explicit_date):
        lower = bucket_of(
            date_from, interval=interval, timezone=timezone, week_start_day=week_start_day
        )
    return lower, date_to


def in_range(ts: datetime, lower: datetime, upper: datetime) -> bool:
    """§3.1: `lower <= ts <= upper`, both inclusive.

    Decision: compared at whole-second precision, as PostHog does (its bounds are formatted as
    `%Y-%m-%d %H:%M:%S` and compared with `toDateTime(timestamp)`); so an event at
    23:59:59.5 is inside a range ending 23:59:59.
    """
    _require_aware(ts, "timestamp")
    return _floor_second(lower) <= _floor_second(ts) <= _floor_second(upper)


# ---------------------------------------------------------------------------------------------
# Buckets (§3.2)


def bucket_of(ts: datetime, *, interval: str, timezone: str, week_start_day: int = 0) -> datetime:
    """The start of the bucket containing `ts`, in the project timezone (§3.2):
    toStartOfHour / toStartOfDay / toStartOfWeek(mode 0 Sunday, 3 Monday) / toStartOfMonth."""
    interval = normalize_interval(interval)
    zone = _zone(timezone)
    local = _require_aware(ts, "timestamp").astimezone(zone)
    if interval == "hour":
        # Keeps `fold`, so the repeated 01:00 hour of a fall-back day is its own bucket.
        return _fixed(_start_of_hour(local), zone)
    day = local.replace(tzinfo=None).date()
    if interval == "week":
        if _week_mode(week_start_day) == 0:
            day -= timedelta(days=day.isoweekday() % 7)  # back to Sunday
        else:
            day -= timedelta(days=day.weekday())  # back to Monday
    elif interval == "month":
        day = day.replace(day=1)
    return _localize(datetime.combine(day, time()), zone)


def _next_bucket(start: datetime, interval: str, zone: ZoneInfo, week_start_day: int) -> datetime:
    if interval == "hour":
        # Real hours: a spring-forward day has 23 hourly buckets, a fall-back day 25.
        return bucket_of(start + timedelta(hours=1), interval="hour", timezone=zone.key)
    day = _wall(start, zone).date()
    if interval == "day":
        day += timedelta(days=1)
    elif interval == "week":
        day += timedelta(days=7)
    else:
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return _localize(datetime.combine(day, time()), zone)


def buckets(
    date_from: datetime, date_to: datetime, *, interval: str, timezone: str, week_start_day: int = 0
) -> list[datetime]:
    """§3.2: bucket starts from trunc(date_from) to trunc(date_to) inclusive, one per interval,
    every bucket present. A 23- or 25-hour day is one day bucket."""
    interval = normalize_interval(interval)
    zone = _zone(timezone)
    _week_mode(week_start_day)
    start = bucket_of(
        date_from, interval=interval, timezone=timezone, week_start_day=week_start_day
    )
    end = bucket_of(date_to, interval=interval, timezone=timezone, week_start_day=week_start_day)
    result: list[datetime] = []
    current = start
    while current <= end:
        result.append(current)
        current = _next_bucket(current, interval, zone, week_start_day)
    return result


def bucket_day(bucket: datetime, *, interval: str, timezone: str) -> str:
    """§3.2 `days` string: `YYYY-MM-DD` (hour: `YYYY-MM-DD HH:MM:SS`), local, no offset."""
    interval = normalize_interval(interval)
    wall = _wall(bucket, _zone(timezone))
    if interval == "hour":
        return wall.strftime("%Y-%m-%d %H:%M:%S")
    return wall.strftime("%Y-%m-%d")


def bucket_label(bucket: datetime, *, interval: str, timezone: str) -> str:
    """§3.2 `labels` string: `D-Mon-YYYY` without zero padding (`1-Jan-2020`); hour interval
    `D-Mon-YYYY HH:MM`. Month names are English whatever the locale."""
    interval = normalize_interval(interval)
    wall = _wall(bucket, _zone(timezone))
    label = f"{wall.day}-{_MONTH_NAMES[wall.month - 1]}-{wall.year}"
    if interval == "hour":
        label += f" {wall.hour:02d}:{wall.minute:02d}"
    return label


def aggregated_days(
    date_from: datetime, date_to: datetime, *, interval: str, timezone: str
) -> list[str]:
    """§3.2: `days` of aggregated displays: step from the unrounded date_from by a fixed number of
    seconds (hour 3600, day 86400, week 7 days, month 30 days) while `<= date_to`."""
    interval = normalize_interval(interval)
    step = timedelta(seconds=INTERVAL_SECONDS[interval])
    result: list[str] = []
    current = date_from
    while current <= date_to:
        result.append(bucket_day(current, interval=interval, timezone=timezone))
        current += step
    return result
