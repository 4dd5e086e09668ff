"""Date parsing and buckets (spec/trends.md §3), in the project's timezone, across DST."""

from datetime import UTC, datetime

import pytest

from gateway.errors import ValidationError
from resolvers.dates import date_range

NOW = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)  # a Wednesday


def rng(now=NOW, tz="UTC", week_start_day=0, **filters):
    return date_range(filters, now=now, timezone=tz, week_start_day=week_start_day)


def test_minus_7d_gives_8_daily_buckets_ending_today():
    r = rng(date_from="-7d")
    days = [b.date().isoformat() for b in r.buckets()]
    assert days[0] == "2026-03-11" and days[-1] == "2026-03-18" and len(days) == 8
    assert r.date_from.isoformat() == "2026-03-11T00:00:00+00:00"
    assert r.date_to.isoformat() == "2026-03-18T23:59:59.999999+00:00"


def test_defaults_are_minus_7d_to_now():
    assert rng().buckets() == rng(date_from="-7d").buckets()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("dStart", "2026-03-18T00:00:00"),
        ("-1dStart", "2026-03-17T00:00:00"),
        ("mStart", "2026-03-01T00:00:00"),
        ("-1mStart", "2026-02-01T00:00:00"),
        ("yStart", "2026-01-01T00:00:00"),
        ("2026-1-5", "2026-01-05T00:00:00"),
        ("2026-01-05 10:11:12", "2026-01-05T00:00:00"),
    ],
)
def test_relative_and_absolute_date_from(value, expected):
    assert rng(date_from=value).date_from.replace(tzinfo=None).isoformat() == expected


def test_minus_1m_end_is_the_last_day_of_last_month():
    r = rng(date_from="-1mStart", date_to="-1mEnd")
    assert r.date_to.replace(tzinfo=None).isoformat() == "2026-02-28T23:59:59.999999"
    assert len(r.buckets()) == 28


def test_dates_are_read_in_the_project_timezone():
    r = rng(tz="America/New_York", date_from="-1d")
    # 15:30 UTC is 11:30 in New York (EDT since 8 March): today is the 18th there too.
    assert [b.date().isoformat() for b in r.buckets()] == ["2026-03-17", "2026-03-18"]
    late = datetime(2026, 3, 19, 2, 0, tzinfo=UTC)  # 22:00 on the 18th in New York
    assert rng(now=late, tz="America/New_York", date_from="dStart").buckets()[0].day == 18


def test_spring_forward_day_is_one_23_hour_day_bucket_and_23_real_hours():
    r = rng(tz="America/New_York", date_from="2026-03-08", date_to="2026-03-08")
    assert len(r.buckets()) == 1
    start, end = r.utc_bounds()
    assert (end - start).total_seconds() == pytest.approx(23 * 3600, abs=1)
    hourly = rng(tz="America/New_York", date_from="2026-03-08 00:00:00",
                 date_to="2026-03-08 23:00:00", interval="hour")  # fmt: skip
    hours = hourly.buckets()
    assert len(hours) == 23
    assert [h.hour for h in hours[:4]] == [0, 1, 3, 4]


def test_fall_back_day_is_one_25_hour_day_bucket_and_25_real_hours():
    r = rng(tz="Europe/London", date_from="2026-10-25", date_to="2026-10-25")
    start, end = r.utc_bounds()
    assert len(r.buckets()) == 1
    assert (end - start).total_seconds() == pytest.approx(25 * 3600, abs=1)
    hourly = rng(tz="Europe/London", date_from="2026-10-25 00:00:00",
                 date_to="2026-10-25 23:00:00", interval="hour")  # fmt: skip
    hours = hourly.buckets()
    assert len(hours) == 25
    assert [h.hour for h in hours[:4]] == [0, 1, 1, 2]
    assert len({h.astimezone(UTC) for h in hours}) == 25


@pytest.mark.parametrize(("week_start_day", "first"), [(0, "2026-03-01"), (1, "2026-03-02")])
def test_week_buckets_start_on_sunday_by_default_or_monday(week_start_day, first):
    r = rng(week_start_day=week_start_day, date_from="2026-03-04", date_to="2026-03-18",
            interval="week")  # fmt: skip
    assert r.buckets()[0].date().isoformat() == first
    assert all(b.weekday() == (6 if week_start_day == 0 else 0) for b in r.buckets())


def test_month_buckets():
    r = rng(date_from="2025-11-15", date_to="2026-02-03", interval="month")
    assert [b.date().isoformat() for b in r.buckets()] == [
        "2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01"]  # fmt: skip


def test_hourly_relative_range_keeps_hours():
    r = rng(date_from="-24h", interval="hour")
    assert r.date_from.isoformat() == "2026-03-17T15:00:00+00:00"
    assert r.date_to.isoformat() == "2026-03-18T15:59:59.999999+00:00"
    assert len(r.buckets()) == 25


def test_explicit_date_keeps_times_as_given():
    r = rng(date_from="2026-03-10T10:15:00Z", date_to="2026-03-11T09:00:00Z",
            explicit_date="true")  # fmt: skip
    assert r.date_from.isoformat() == "2026-03-10T10:15:00+00:00"
    assert r.date_to.isoformat() == "2026-03-11T09:00:00+00:00"


@pytest.mark.parametrize(
    ("filters", "attr"),
    [
        ({"date_from": "yesterday-ish"}, "date_from"),
        ({"date_to": "2026-13-45"}, "date_to"),
        ({"interval": "fortnight"}, "interval"),
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_from"),
    ],
)
def test_bad_dates_name_the_field(filters, attr):
    with pytest.raises(ValidationError) as info:
        rng(**filters)
    assert info.value.attr == attr


def test_unknown_timezone_is_refused():
    with pytest.raises(ValidationError) as info:
        rng(tz="Mars/Olympus")
    assert info.value.attr == "timezone"
