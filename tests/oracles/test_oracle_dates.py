"""Example tests for the date oracle (tests/oracles/dates.py).

Each test cites the rule it checks: "§" sections are /work/shared/spec/trends.md, "README" is
the spec folder's README.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.oracles import dates

NY = "America/New_York"
LONDON = "Europe/London"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(timezone: str, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(timezone), fold=fold)


def wall(value: datetime) -> tuple:
    """Local wall-clock fields of a returned datetime (they carry the local offset)."""
    return value.timetuple()[:6] + (value.microsecond,)


def rng(filter: dict, *, now: datetime, tz: str = "UTC", interval: str = "day", first=None):
    return dates.parse_date_range(
        filter, now=now, timezone=tz, first_event_time=first, interval=interval
    )


NOW = utc(2026, 1, 10, 15, 30, 12)  # a Saturday


# --- §3.1 defaults ---------------------------------------------------------------------------


def test_minus_7d_gives_eight_daily_buckets():
    # README and §3.2: `-7d` yields 8 daily buckets (7 past days + today).
    date_from, date_to = rng({"date_from": "-7d"}, now=NOW)
    assert wall(date_from) == (2026, 1, 3, 0, 0, 0, 0)
    assert wall(date_to) == (2026, 1, 10, 23, 59, 59, 999999)
    starts = dates.buckets(date_from, date_to, interval="day", timezone="UTC")
    assert len(starts) == 8
    assert [dates.bucket_day(b, interval="day", timezone="UTC") for b in starts][::7] == [
        "2026-01-03",
        "2026-01-10",
    ]


def test_missing_dates_default_to_minus_7d_and_now():
    # §3.1: missing date_from → start of today minus 7 days; README: missing date_to → now
    # (end of its day for a day interval).
    assert rng({}, now=NOW) == rng({"date_from": "-7d"}, now=NOW)


def test_relative_dates_are_computed_from_now_in_the_project_timezone():
    # §3.1 / §3.3: 03:00 UTC on Jan 10 is still Jan 9 in New York.
    date_from, date_to = rng({"date_from": "-7d"}, now=utc(2026, 1, 10, 3), tz=NY)
    assert wall(date_from) == (2026, 1, 2, 0, 0, 0, 0)
    assert date_from.utcoffset() == timedelta(hours=-5)
    assert wall(date_to) == (2026, 1, 9, 23, 59, 59, 999999)


# --- §3.1 absolute forms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2020-01-05", "2020-1-5", "2020-01-05 10:30:00", "2020-01-05T10:30", "2020-01-05T10:30:15.5"],
)
def test_absolute_dates_are_in_the_project_timezone(text):
    # §3.1: absolute forms are read in the project timezone; date_from goes to 00:00 of its day.
    date_from, _ = rng({"date_from": text, "date_to": "2020-01-06"}, now=NOW, tz=NY)
    assert wall(date_from) == (2020, 1, 5, 0, 0, 0, 0)
    assert date_from.utcoffset() == timedelta(hours=-5)


def test_absolute_dates_with_an_offset_are_converted():
    # §3.1: "unless the string has an explicit offset". 03:00Z is 22:00 the day before in NY.
    date_from, _ = rng(
        {"date_from": "2020-01-05T03:00:00Z", "date_to": "2020-01-06"}, now=NOW, tz=NY
    )
    assert wall(date_from) == (2020, 1, 4, 0, 0, 0, 0)
    date_from, _ = rng(
        {"date_from": "2020-01-05T03:00:00+05:00", "explicit_date": True, "date_to": "2020-01-06"},
        now=NOW,
        tz="UTC",
    )
    assert wall(date_from) == (2020, 1, 4, 22, 0, 0, 0)


def test_date_only_date_to_is_the_end_of_that_day():
    # funnels.md §1.2, retention_paths.md B2: `YYYY-MM-DD` date_to means the end of that day.
    for interval in ("day", "hour"):
        _, date_to = rng(
            {"date_from": "2020-01-01", "date_to": "2020-01-05"}, now=NOW, interval=interval
        )
        assert wall(date_to) == (2020, 1, 5, 23, 59, 59, 999999)


# --- §3.1 relative forms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-7d", (2026, 1, 3, 0)),
        ("7d", (2026, 1, 3, 0)),  # the `-` is optional
        ("-2w", (2025, 12, 27, 0)),
        ("-1m", (2025, 12, 10, 0)),
        ("-1y", (2025, 1, 10, 0)),
        ("-1q", (2025, 10, 11, 0)),  # a quarter is 13 weeks
        ("-24h", (2026, 1, 9, 15)),  # hours: truncated to the hour, not the day
        ("-30M", (2026, 1, 10, 0)),  # minutes: truncated to 00:00 of the resulting day
        ("-90s", (2026, 1, 10, 0)),
        ("dStart", (2026, 1, 10, 0)),
        ("-1dStart", (2026, 1, 9, 0)),
        ("mStart", (2026, 1, 1, 0)),
        ("-1mStart", (2025, 12, 1, 0)),
        ("yStart", (2026, 1, 1, 0)),
        ("hStart", (2026, 1, 10, 15)),
        ("wStart", (2026, 1, 10, 0)),  # `w` has no Start/End: like "now"
    ],
)
def test_relative_date_from(text, expected):
    # §3.1: relative values, truncated to 00:00 (or to the hour when the unit was hours).
    date_from, _ = rng({"date_from": text}, now=NOW)
    assert wall(date_from)[:4] == expected
    assert wall(date_from)[4:] == (0, 0, 0)


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        (utc(2026, 3, 31, 12), "-1m", (2026, 2, 28)),  # calendar months, day clamped
        (utc(2024, 3, 31, 12), "-1m", (2024, 2, 29)),
        (utc(2024, 2, 29, 12), "-1y", (2023, 2, 28)),
        (utc(2026, 3, 15, 12), "-1mEnd", (2026, 2, 28)),  # last day of previous month (31 clamped)
        (utc(2026, 1, 15, 12), "-1mEnd", (2025, 12, 31)),
        (utc(2026, 5, 15, 12), "mEnd", (2026, 5, 31)),
    ],
)
def test_relative_month_and_year_arithmetic(now, text, expected):
    # §3.1: `-1mEnd` = last day of previous month (day=31 clamped).
    _, date_to = rng({"date_from": "-30d", "date_to": text}, now=now)
    assert wall(date_to)[:3] == expected


def test_relative_date_to_ends():
    # §3.1: dEnd = today 23:59:59.999999; hEnd = end of the hour.
    _, date_to = rng({"date_to": "dEnd"}, now=NOW, interval="hour")
    assert wall(date_to) == (2026, 1, 10, 23, 59, 59, 999999)
    _, date_to = rng({"date_to": "hEnd"}, now=NOW, interval="hour")
    assert wall(date_to) == (2026, 1, 10, 15, 59, 59, 999999)
    _, date_to = rng({"date_to": "-1dStart"}, now=NOW)
    assert wall(date_to) == (2026, 1, 9, 23, 59, 59, 999999)  # non-hourly → end of that day


def test_minus_24h_is_24_real_hours_across_a_dst_change():
    # §3.1 `-24h`; Decision: hours are real elapsed time. 2024-03-10 is 23 hours long in NY.
    now = local(NY, 2024, 3, 10, 12, 30).astimezone(UTC)
    date_from, _ = rng({"date_from": "-24h"}, now=now, tz=NY, interval="hour")
    assert date_from.astimezone(UTC) == utc(2024, 3, 9, 16)  # 11:00 EST
    assert wall(date_from)[:4] == (2024, 3, 9, 11)


# --- §3.1 `all` -------------------------------------------------------------------------------


def test_date_from_all_starts_at_the_first_event_day():
    # §3.1: `all` → earliest event timestamp (events after 2015-01-01), then 00:00 of its day.
    stamps = [utc(2014, 6, 1), utc(2021, 5, 4, 13, 15), utc(2022, 1, 1)]
    first = dates.first_event_time(stamps)
    assert first == utc(2021, 5, 4, 13, 15)
    date_from, _ = rng({"date_from": "all"}, now=NOW, first=first)
    assert wall(date_from) == (2021, 5, 4, 0, 0, 0, 0)
    date_from, _ = rng({"date_from": "all"}, now=NOW, first=first, interval="hour")
    assert wall(date_from) == (2021, 5, 4, 13, 0, 0, 0)


def test_date_from_all_without_events_uses_a_fixed_fallback():
    # §3.1: "if the team has no events, a fixed fallback in the past" (PostHog: now − 1 week).
    assert dates.first_event_time([utc(2014, 1, 1)]) is None
    date_from, _ = rng({"date_from": "all"}, now=NOW, first=None)
    assert wall(date_from) == (2026, 1, 3, 0, 0, 0, 0)


# --- §3.1 normalisation -----------------------------------------------------------------------


def test_explicit_date_keeps_dates_as_given():
    # §2 / §3.1: explicit_date → no rounding of dates to day/interval boundaries.
    filter = {"date_from": "2020-01-05 10:30:00", "date_to": "2020-01-06 08:15:00"}
    date_from, date_to = rng({**filter, "explicit_date": "true"}, now=NOW)
    assert wall(date_from) == (2020, 1, 5, 10, 30, 0, 0)
    assert wall(date_to) == (2020, 1, 6, 8, 15, 0, 0)
    date_from, date_to = rng(filter, now=NOW)
    assert wall(date_from) == (2020, 1, 5, 0, 0, 0, 0)
    assert wall(date_to) == (2020, 1, 6, 23, 59, 59, 999999)
    date_from, _ = rng({"date_from": "-7d", "explicit_date": True}, now=NOW)
    assert wall(date_from) == (2026, 1, 3, 15, 30, 12, 0)


def test_hourly_queries_keep_the_hour():
    # §3.1: hourly queries keep the hour of date_from; an absolute hourly date_to is kept.
    filter = {"date_from": "2020-01-05 10:30:00", "date_to": "2020-01-05 18:45:00"}
    date_from, date_to = rng(filter, now=NOW, interval="hour")
    assert wall(date_from) == (2020, 1, 5, 10, 0, 0, 0)
    assert wall(date_to) == (2020, 1, 5, 18, 45, 0, 0)


def test_hourly_relative_or_missing_date_to_ends_the_current_hour():
    # §3.1: hourly + relative/missing date_to (without Start/End) → HH:59:59.999999.
    _, date_to = rng({"date_from": "-3h"}, now=NOW, interval="hour")
    assert wall(date_to) == (2026, 1, 10, 15, 59, 59, 999999)
    _, date_to = rng({"date_from": "-3h", "date_to": "-1h"}, now=NOW, interval="hour")
    assert wall(date_to) == (2026, 1, 10, 14, 59, 59, 999999)


def test_day_based_relative_date_from_with_hour_interval_starts_at_midnight():
    # §3.1: "-7d with hour interval is still truncated to 00:00".
    date_from, _ = rng({"date_from": "-7d"}, now=NOW, interval="hour")
    assert wall(date_from) == (2026, 1, 3, 0, 0, 0, 0)


def test_hour_unit_date_from_with_day_interval_keeps_the_hour():
    # §3.1: date_from is hourly when "the string contains h".
    date_from, date_to = rng({"date_from": "-24h"}, now=NOW, interval="day")
    assert wall(date_from) == (2026, 1, 9, 15, 0, 0, 0)
    assert wall(date_to) == (2026, 1, 10, 23, 59, 59, 999999)


# --- §3.1 event range -------------------------------------------------------------------------


def test_week_interval_rounds_the_lower_bound_to_the_week_start():
    # §3.1: a week chart starting on a Wednesday counts the whole week from its first day.
    date_from, date_to = rng({"date_from": "2026-01-07", "date_to": "2026-01-20"}, now=NOW)
    for week_start_day, first_day in ((0, 4), (1, 5)):  # Sunday Jan 4, Monday Jan 5
        lower, upper = dates.event_range(
            date_from, date_to, interval="week", timezone="UTC", week_start_day=week_start_day
        )
        assert wall(lower) == (2026, 1, first_day, 0, 0, 0, 0)
        assert upper == date_to


def test_month_interval_rounds_the_lower_bound_to_the_first():
    # §3.1: month intervals always round.
    date_from, date_to = rng({"date_from": "2026-01-17", "date_to": "2026-03-02"}, now=NOW)
    lower, _ = dates.event_range(
        date_from, date_to, interval="month", timezone="UTC", week_start_day=0
    )
    assert wall(lower) == (2026, 1, 1, 0, 0, 0, 0)


def test_last_24_hours_with_day_interval_is_not_rounded():
    # §3.1 (test_last24hours_timerange): range < 2 days → only events after now-24h count.
    date_from, date_to = rng({"date_from": "-24h"}, now=NOW)
    assert not dates.should_round(date_from, date_to, interval="day")
    lower, upper = dates.event_range(
        date_from, date_to, interval="day", timezone="UTC", week_start_day=0
    )
    assert lower == date_from
    assert not dates.in_range(utc(2026, 1, 9, 14, 59, 59), lower, upper)
    assert dates.in_range(utc(2026, 1, 9, 15, 0, 0), lower, upper)


def test_explicit_date_is_never_rounded():
    # §3.1 "unless explicit_date is true".
    date_from, date_to = rng(
        {"date_from": "2026-01-07 10:00", "date_to": "2026-01-30", "explicit_date": True}, now=NOW
    )
    assert not dates.should_round(date_from, date_to, interval="week", explicit_date=True)


def test_range_bounds_are_inclusive():
    # §3.1: `>= date_from` and `<= date_to`, both inclusive (at whole seconds).
    date_from, date_to = rng({"date_from": "2026-01-01", "date_to": "2026-01-02"}, now=NOW)
    assert dates.in_range(utc(2026, 1, 1), date_from, date_to)
    assert dates.in_range(utc(2026, 1, 2, 23, 59, 59, 999999), date_from, date_to)
    assert not dates.in_range(utc(2026, 1, 3), date_from, date_to)
    assert not dates.in_range(utc(2025, 12, 31, 23, 59, 59, 999999), date_from, date_to)


# --- §3.2 buckets and labels ------------------------------------------------------------------


def test_labels_and_days_strings():
    # §3.2: days `YYYY-MM-DD` (hour: `YYYY-MM-DD HH:MM:SS`); labels `D-Mon-YYYY` (`1-Jan-2020`),
    # hour `D-Mon-YYYY HH:MM`.
    start = dates.bucket_of(utc(2020, 1, 1, 9, 41), interval="day", timezone="UTC")
    assert dates.bucket_label(start, interval="day", timezone="UTC") == "1-Jan-2020"
    assert dates.bucket_day(start, interval="day", timezone="UTC") == "2020-01-01"
    hour = dates.bucket_of(utc(2020, 1, 1, 9, 41), interval="hour", timezone="UTC")
    assert dates.bucket_label(hour, interval="hour", timezone="UTC") == "1-Jan-2020 09:00"
    assert dates.bucket_day(hour, interval="hour", timezone="UTC") == "2020-01-01 09:00:00"


def test_days_are_local_dates():
    # §3.3: the returned `days` are local dates.
    start = dates.bucket_of(utc(2020, 1, 1, 3), interval="day", timezone=NY)
    assert dates.bucket_day(start, interval="day", timezone=NY) == "2019-12-31"
    assert start.astimezone(UTC) == utc(2019, 12, 31, 5)


@pytest.mark.parametrize(("week_start_day", "expected"), [(0, [4, 11, 18]), (1, [5, 12, 19])])
def test_week_buckets_start_on_sunday_or_monday(week_start_day, expected):
    # §3.2: week mode 0 = Sunday (default), 1 = Monday. Jan 10 2026 is a Saturday; Jan 20 Tuesday.
    starts = dates.buckets(
        utc(2026, 1, 10),
        utc(2026, 1, 20),
        interval="week",
        timezone="UTC",
        week_start_day=week_start_day,
    )
    assert [(b.month, b.day) for b in starts] == [(1, d) for d in expected]


def test_sunday_itself_starts_its_sunday_week():
    # §3.2 toStartOfWeek mode 0: a Sunday is the first day of its own week.
    start = dates.bucket_of(utc(2026, 1, 11, 12), interval="week", timezone="UTC", week_start_day=0)
    assert (start.month, start.day) == (1, 11)
    start = dates.bucket_of(utc(2026, 1, 11, 12), interval="week", timezone="UTC", week_start_day=1)
    assert (start.month, start.day) == (1, 5)


def test_month_buckets():
    # §3.2: toStartOfMonth, one bucket per month, first to last inclusive.
    starts = dates.buckets(utc(2025, 11, 20), utc(2026, 2, 3), interval="month", timezone="UTC")
    assert [dates.bucket_day(b, interval="month", timezone="UTC") for b in starts] == [
        "2025-11-01",
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
    ]


def test_every_bucket_is_present():
    # §3.2: every bucket from trunc(date_from) to trunc(date_to) inclusive (zero-filled).
    starts = dates.buckets(
        utc(2026, 1, 1, 22, 10), utc(2026, 1, 2, 1, 5), interval="hour", timezone="UTC"
    )
    assert [b.hour for b in starts] == [22, 23, 0, 1]


def test_aggregated_days_step_by_fixed_seconds_from_the_unrounded_date_from():
    # §3.2: aggregated displays step from the unrounded date_from by fixed seconds while <= to.
    days = dates.aggregated_days(
        utc(2026, 1, 1, 12), utc(2026, 1, 3, 11), interval="day", timezone="UTC"
    )
    assert days == ["2026-01-01", "2026-01-02"]
    months = dates.aggregated_days(
        utc(2026, 1, 31), utc(2026, 3, 31), interval="month", timezone="UTC"
    )
    assert months == ["2026-01-31", "2026-03-02"]  # 30-day "months"


# --- DST (§3.2: buckets in the project timezone) ----------------------------------------------


def test_new_york_spring_forward_day_is_one_23_hour_day_bucket():
    # 2024-03-10: 02:00 EST jumps to 03:00 EDT.
    day = dates.bucket_of(utc(2024, 3, 10, 20), interval="day", timezone=NY)
    next_day = dates.bucket_of(utc(2024, 3, 11, 20), interval="day", timezone=NY)
    assert wall(day)[:4] == (2024, 3, 10, 0)
    assert next_day - day == timedelta(hours=23)
    starts = dates.buckets(day, next_day, interval="day", timezone=NY)
    assert len(starts) == 2


def test_new_york_spring_forward_hourly_buckets_are_the_real_hours():
    day_start = local(NY, 2024, 3, 10, 0).astimezone(UTC)
    day_end = local(NY, 2024, 3, 10, 23, 59).astimezone(UTC)
    starts = dates.buckets(day_start, day_end, interval="hour", timezone=NY)
    assert len(starts) == 23
    labels = [dates.bucket_label(b, interval="hour", timezone=NY) for b in starts]
    assert "10-Mar-2024 02:00" not in labels
    assert labels[:3] == ["10-Mar-2024 00:00", "10-Mar-2024 01:00", "10-Mar-2024 03:00"]
    assert all(b - a == timedelta(hours=1) for a, b in zip(starts, starts[1:], strict=False))


def test_new_york_fall_back_day_has_25_distinct_hourly_buckets():
    # 2024-11-03: 02:00 EDT falls back to 01:00 EST, so 01:00 happens twice.
    day_start = local(NY, 2024, 11, 3, 0).astimezone(UTC)
    day_end = local(NY, 2024, 11, 3, 23, 59).astimezone(UTC)
    starts = dates.buckets(day_start, day_end, interval="hour", timezone=NY)
    assert len(starts) == 25
    assert len(set(starts)) == 25  # the two 01:00 buckets stay distinct keys
    first_one = dates.bucket_of(utc(2024, 11, 3, 5, 30), interval="hour", timezone=NY)  # 01:30 EDT
    second_one = dates.bucket_of(utc(2024, 11, 3, 6, 30), interval="hour", timezone=NY)  # 01:30 EST
    assert first_one != second_one
    assert {first_one, second_one} <= set(starts)
    assert dates.bucket_label(first_one, interval="hour", timezone=NY) == "3-Nov-2024 01:00"
    assert dates.bucket_label(second_one, interval="hour", timezone=NY) == "3-Nov-2024 01:00"


def test_new_york_fall_back_day_is_one_25_hour_day_bucket():
    a = dates.bucket_of(utc(2024, 11, 3, 5, 30), interval="day", timezone=NY)
    b = dates.bucket_of(utc(2024, 11, 3, 6, 30), interval="day", timezone=NY)
    c = dates.bucket_of(utc(2024, 11, 4, 4, 59), interval="day", timezone=NY)  # 23:59 EST
    assert a == b == c
    nxt = dates.bucket_of(utc(2024, 11, 4, 5), interval="day", timezone=NY)
    assert nxt - a == timedelta(hours=25)
    week = dates.buckets(utc(2024, 11, 1, 12), utc(2024, 11, 7, 12), interval="day", timezone=NY)
    assert [dates.bucket_day(d, interval="day", timezone=NY) for d in week] == [
        f"2024-11-0{d}" for d in range(1, 8)
    ]


def test_london_spring_forward():
    # 2024-03-31: 01:00 GMT jumps to 02:00 BST.
    day_start = local(LONDON, 2024, 3, 31, 0).astimezone(UTC)
    day_end = local(LONDON, 2024, 3, 31, 23, 59).astimezone(UTC)
    hours = dates.buckets(day_start, day_end, interval="hour", timezone=LONDON)
    assert len(hours) == 23
    labels = [dates.bucket_label(b, interval="hour", timezone=LONDON) for b in hours]
    assert "31-Mar-2024 01:00" not in labels
    days = dates.buckets(day_start, day_end, interval="day", timezone=LONDON)
    assert len(days) == 1
    # An event at 23:30 UTC on Mar 31 is 00:30 BST on Apr 1.
    april = dates.bucket_of(utc(2024, 3, 31, 23, 30), interval="day", timezone=LONDON)
    assert dates.bucket_day(april, interval="day", timezone=LONDON) == "2024-04-01"


def test_london_fall_back():
    # 2024-10-27: 02:00 BST falls back to 01:00 GMT.
    day_start = local(LONDON, 2024, 10, 27, 0).astimezone(UTC)
    day_end = local(LONDON, 2024, 10, 27, 23, 59).astimezone(UTC)
    hours = dates.buckets(day_start, day_end, interval="hour", timezone=LONDON)
    assert len(hours) == 25
    ones = [h for h in hours if h.hour == 1]
    assert [h.astimezone(UTC).hour for h in ones] == [0, 1]
    date_from, date_to = rng(
        {"date_from": "2024-10-27", "date_to": "2024-10-27"}, now=NOW, tz=LONDON
    )
    assert date_to - date_from == timedelta(hours=25) - timedelta(microseconds=1)
    assert dates.buckets(date_from, date_to, interval="day", timezone=LONDON) == [date_from]


def test_week_buckets_across_dst_start_at_local_midnight():
    # Week of 2024-03-10 (Sunday) in NY: starts 00:00 EST; the next starts 00:00 EDT.
    starts = dates.buckets(utc(2024, 3, 12), utc(2024, 3, 19), interval="week", timezone=NY)
    assert [wall(s)[:4] for s in starts] == [(2024, 3, 10, 0), (2024, 3, 17, 0)]
    assert [s.utcoffset() for s in starts] == [timedelta(hours=-5), timedelta(hours=-4)]


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["yesterday", "2020-13-01", "2020-02-30", "-7x", "2020/01/01"])
def test_bad_date_strings_name_the_field(text):
    with pytest.raises(ValueError, match="date_from"):
        rng({"date_from": text}, now=NOW)
    with pytest.raises(ValueError, match="date_to"):
        rng({"date_to": text}, now=NOW)


def test_intervals():
    # §2: interval is case-insensitive; `minute` maps to `hour`; anything else is an error.
    assert dates.normalize_interval("DAY") == "day"
    assert dates.normalize_interval("minute") == "hour"
    assert dates.normalize_interval(None) == "day"
    with pytest.raises(ValueError, match="interval"):
        dates.normalize_interval("fortnight")
    with pytest.raises(ValueError, match="interval"):
        rng({}, now=NOW, interval="year")
    with pytest.raises(ValueError, match="week_start_day"):
        dates.bucket_of(NOW, interval="week", timezone="UTC", week_start_day=2)
