"""Example tests of the trends / stickiness / lifecycle oracle.

Each test reproduces a worked example or an explicit rule of /work/shared/spec/trends.md (cited
as §n) or of the spec README, or pins a choice the oracle made where the spec is open
(`trends.OPEN_QUESTIONS`). Expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from tests.oracles.model import Action, Cohort, Event, Project, World
from tests.oracles.trends import (
    NULL_VALUE,
    OTHER_VALUE,
    lifecycle,
    stickiness,
    trends,
)

_ids = itertools.count()


def at(text: str) -> datetime:
    """A UTC instant from `YYYY-MM-DD HH:MM[:SS]`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ev(
    person: str,
    when: str,
    event: str = "$pageview",
    *,
    groups: dict | None = None,
    person_properties: dict | None = None,
    **properties: object,
) -> Event:
    return Event(
        uuid=f"e{next(_ids)}",
        event=event,
        distinct_id=person,
        person_id=person,
        timestamp=at(when),
        properties=dict(properties),
        person_properties=person_properties or {},
        groups=groups or {},
    )


def world(events: list[Event], *, now: str = "2020-01-20 12:00", **project: object) -> World:
    return World(events=events, project=Project(**project), now=at(now))


def pageviews(math: str | None = None, **entity: object) -> dict:
    return {"id": "$pageview", "type": "events", "math": math, **entity}


def run(w: World, *entities: dict, **filter: object) -> list[dict]:
    """Trends over 2020-01-01..2020-01-03 by default."""
    request = {"date_from": "2020-01-01", "date_to": "2020-01-03", **filter}
    request["events"] = list(entities) or [pageviews()]
    return trends(request, w)


def data(w: World, *entities: dict, **filter: object) -> list[float]:
    (item,) = run(w, *entities, **filter)
    return item["data"]


def without_filter(item: dict) -> dict:
    return {key: value for key, value in item.items() if key != "filter"}


def by_label(result: list[dict]) -> dict[str, list[float]]:
    return {item["label"]: item["data"] for item in result}


# --- §3 dates and buckets --------------------------------------------------------------------


def test_minus_7d_gives_8_daily_buckets_with_posthog_days_and_labels():
    # §3.2: `-7d` = 7 past days + today; days `YYYY-MM-DD`, labels `D-Mon-YYYY` unpadded.
    w = world(
        [ev("p1", "2020-01-03 10:00"), ev("p1", "2020-01-10 11:00"), ev("p1", "2020-01-02 23:00")],
        now="2020-01-10 12:00",
    )
    (item,) = trends({"events": [pageviews()], "date_from": "-7d"}, w)
    assert item["days"] == [f"2020-01-{d:02d}" for d in range(3, 11)]
    assert item["labels"][0] == "3-Jan-2020"
    assert item["labels"][-1] == "10-Jan-2020"
    assert item["data"] == [1, 0, 0, 0, 0, 0, 0, 1]
    assert item["count"] == 2


def test_missing_date_from_is_minus_7d():
    # §3.1: missing date_from → start of today minus 7 days.
    w = world([ev("p1", "2020-01-03 00:00")], now="2020-01-10 12:00")
    (item,) = trends({"events": [pageviews()]}, w)
    assert len(item["days"]) == 8
    assert item["data"][0] == 1


def test_hour_interval_days_and_labels_carry_the_time():
    # §3.2: hour interval days `YYYY-MM-DD HH:MM:SS`, labels `D-Mon-YYYY HH:MM`; an absolute
    # hourly date_to is kept as given (§3.1).
    w = world([ev("p1", "2020-01-01 01:30"), ev("p1", "2020-01-01 03:10")])
    (item,) = trends(
        {
            "events": [pageviews()],
            "interval": "hour",
            "date_from": "2020-01-01 00:00:00",
            "date_to": "2020-01-01 02:59:59",
        },
        w,
    )
    assert item["days"] == ["2020-01-01 00:00:00", "2020-01-01 01:00:00", "2020-01-01 02:00:00"]
    assert item["labels"] == ["1-Jan-2020 00:00", "1-Jan-2020 01:00", "1-Jan-2020 02:00"]
    assert item["data"] == [0, 1, 0]


def test_interval_minute_is_hour_and_unknown_interval_is_an_error():
    # §2: `minute` silently mapped to `hour`; anything else → error naming the field.
    w = world([ev("p1", "2020-01-01 01:30")])
    minute = trends(
        {
            "events": [pageviews()],
            "interval": "MINUTE",
            "date_from": "2020-01-01 00:00:00",
            "date_to": "2020-01-01 01:59:59",
        },
        w,
    )
    assert minute[0]["data"] == [0, 1]
    with pytest.raises(ValueError, match="^interval"):
        trends({"events": [pageviews()], "interval": "year"}, w)


WEEK_EVENTS = [
    ev("p1", "2019-12-28 12:00"),  # Sat, before both first weeks
    ev("p1", "2019-12-30 12:00"),  # Mon, before date_from but inside its week
    ev("p1", "2020-01-04 12:00"),  # Sat
    ev("p1", "2020-01-05 12:00"),  # Sun
    ev("p1", "2020-01-06 12:00"),  # Mon
]


def test_weeks_start_on_sunday_by_default_and_the_first_week_counts_whole():
    # §3.2: week_start_day 0 = Sunday; §3.1: a week chart starting on a Wednesday counts the
    # whole week from its first day.
    request = {"events": [pageviews()], "interval": "week"}
    request |= {"date_from": "2020-01-01", "date_to": "2020-01-14"}
    (item,) = trends(request, world(WEEK_EVENTS))
    assert item["days"] == ["2019-12-29", "2020-01-05", "2020-01-12"]
    assert item["data"] == [2, 2, 0]  # Dec 30 + Jan 4 | Jan 5 + Jan 6


def test_monday_weeks():
    # §3.2: week_start_day 1 = Monday (ClickHouse mode 3).
    request = {"events": [pageviews()], "interval": "week"}
    request |= {"date_from": "2020-01-01", "date_to": "2020-01-14"}
    (item,) = trends(request, world(WEEK_EVENTS, week_start_day=1))
    assert item["days"] == ["2019-12-30", "2020-01-06", "2020-01-13"]
    assert item["data"] == [3, 1, 0]  # Dec 30 + Jan 4 + Jan 5 | Jan 6


def test_month_interval_buckets_start_on_the_first():
    # §3.2 toStartOfMonth; §3.1 the month containing date_from counts whole.
    w = world([ev("p1", "2020-01-02 10:00"), ev("p1", "2020-02-29 10:00")])
    (item,) = trends(
        {
            "events": [pageviews()],
            "interval": "month",
            "date_from": "2020-01-15",
            "date_to": "2020-03-01",
        },
        w,
    )
    assert item["days"] == ["2020-01-01", "2020-02-01", "2020-03-01"]
    assert item["data"] == [1, 1, 0]


def test_last_24_hours_with_day_interval_is_not_rounded():
    # §3.1 (test_last24hours_timerange): `-24h` spans < 2 days, so only events after now-24h.
    w = world(
        [ev("p1", "2020-01-19 11:00"), ev("p1", "2020-01-19 13:00"), ev("p1", "2020-01-20 10:00")],
        now="2020-01-20 12:00",
    )
    (item,) = trends({"events": [pageviews()], "date_from": "-24h", "interval": "day"}, w)
    assert item["count"] == 2  # the 11:00 event of yesterday is older than 24 hours


def test_buckets_are_in_the_project_timezone():
    # §3.3: events are converted to the project timezone before bucketing.
    w = world(
        [ev("p1", "2020-01-02 03:00"), ev("p1", "2020-01-01 03:00")],
        timezone="America/New_York",
    )
    # 2020-01-02 03:00 UTC is Jan 1 22:00 in New York; 2020-01-01 03:00 UTC is Dec 31.
    assert data(w, date_from="2020-01-01", date_to="2020-01-02") == [1, 0]


def test_dst_spring_forward_day_is_one_daily_bucket():
    # §3.2 buckets in the team timezone; 2021-03-14 has 23 hours in New York (issue #31775).
    w = world(
        [
            ev("p1", "2021-03-14 04:30"),  # Mar 13 23:30 EST
            ev("p1", "2021-03-15 03:30"),  # Mar 14 23:30 EDT
            ev("p1", "2021-03-15 04:30"),  # Mar 15 00:30 EDT
        ],
        timezone="America/New_York",
        now="2021-03-20 12:00",
    )
    (item,) = run(w, date_from="2021-03-13", date_to="2021-03-15")
    assert item["days"] == ["2021-03-13", "2021-03-14", "2021-03-15"]
    assert item["data"] == [1, 1, 1]


def test_dst_fall_back_day_is_one_daily_bucket_and_25_hourly_ones():
    # §3.2: 2021-11-07 has 25 hours in New York; days are never duplicated, but the hour chart
    # has two 01:00 buckets.
    events = [
        ev("p1", "2021-11-07 03:30"),  # Nov 6 23:30 EDT
        ev("p1", "2021-11-07 04:30"),  # Nov 7 00:30 EDT
        ev("p1", "2021-11-07 05:30"),  # Nov 7 01:30 EDT
        ev("p1", "2021-11-07 06:30"),  # Nov 7 01:30 EST
        ev("p1", "2021-11-08 04:30"),  # Nov 7 23:30 EST
    ]
    w = world(events, timezone="America/New_York", now="2021-11-20 12:00")
    (daily,) = run(w, date_from="2021-11-06", date_to="2021-11-08")
    assert daily["days"] == ["2021-11-06", "2021-11-07", "2021-11-08"]
    assert daily["data"] == [1, 4, 0]
    (hourly,) = run(
        w, interval="hour", date_from="2021-11-07 00:00:00", date_to="2021-11-07 23:59:59"
    )
    assert len(hourly["days"]) == 25
    assert hourly["days"][1:3] == ["2021-11-07 01:00:00", "2021-11-07 01:00:00"]
    assert hourly["data"][:4] == [1, 1, 1, 0]
    assert hourly["data"][-1] == 1


# --- §4.1 result items and §2.1 entities ------------------------------------------------------


def test_time_series_item_keys_and_entity_echo():
    # §4.1 / §2.1: the keys of a series; `properties` echoes as [] when empty; `count` = sum.
    w = world([ev("p1", "2020-01-01 10:00")])
    (item,) = run(w, pageviews(custom_name="Views", order=0))
    assert set(item) == {
        "action",
        "label",
        "count",
        "data",
        "labels",
        "days",
        "persons_urls",
        "filter",
    }
    assert item["action"] == {
        "id": "$pageview",
        "type": "events",
        "order": 0,
        "name": "$pageview",
        "custom_name": "Views",
        "math": None,
        "math_property": None,
        "math_hogql": None,
        "math_group_type_index": None,
        "properties": [],
    }
    assert item["label"] == "$pageview"
    assert item["count"] == 1


def test_persons_urls_filters_per_bucket():
    # §4.1: one persons filter per bucket; day → date_to is the same day 23:59:59.999999.
    w = world([ev("p1", "2020-01-01 10:00")])
    (item,) = run(w)
    assert len(item["persons_urls"]) == 3
    first = item["persons_urls"][0]["filter"]
    assert first["entity_id"] == "$pageview"
    assert first["entity_type"] == "events"
    assert first["entity_math"] is None
    assert datetime.fromisoformat(first["date_from"]) == at("2020-01-01 00:00")
    assert datetime.fromisoformat(first["date_to"]) == datetime(
        2020, 1, 1, 23, 59, 59, 999999, tzinfo=UTC
    )


def test_persons_urls_week_bucket_end_is_six_days_later():
    # §4.1: week → date_to = bucket start + 6 days 00:00.
    request = {"events": [pageviews()], "interval": "week"}
    request |= {"date_from": "2020-01-05", "date_to": "2020-01-11"}
    (item,) = trends(request, world([]))
    bucket = item["persons_urls"][0]["filter"]
    assert datetime.fromisoformat(bucket["date_to"]) == at("2020-01-11 00:00")


def test_series_follow_entity_order_with_actions_before_events():
    # §2.1: sorted by `order` (missing = -1), stable, actions list concatenated first.
    w = World(
        events=[ev("p1", "2020-01-01 10:00", "signup")],
        actions={7: Action(7, "Signed up", [{"event": "signup"}])},
        now=at("2020-01-20 12:00"),
    )
    result = trends(
        {
            "date_from": "2020-01-01",
            "date_to": "2020-01-01",
            "events": [{"id": "b", "order": 1}, {"id": "a"}, {"id": "c", "order": 0}],
            "actions": [{"id": 7, "order": 0}],
        },
        w,
    )
    assert [item["label"] for item in result] == ["a", "Signed up", "c", "b"]
    assert result[1]["action"]["type"] == "actions"
    assert result[1]["data"] == [1]


def test_unknown_action_is_an_error_naming_actions():
    # README: an unknown action id is a 400 naming the field (PostHog's legacy answer is []).
    with pytest.raises(ValueError, match="^actions"):
        trends({"actions": [{"id": 99}]}, world([]))


def test_unknown_event_name_gives_a_zero_series():
    # §2.1: a non-existent event name just yields an all-zero series.
    (item,) = run(world([ev("p1", "2020-01-01 10:00")]), {"id": "nope"})
    assert item["data"] == [0, 0, 0]


def test_null_event_id_means_all_events():
    # §2.1: `null` event id = all events (named "All events" by the oracle).
    w = world([ev("p1", "2020-01-01 10:00"), ev("p1", "2020-01-01 11:00", "other")])
    (item,) = run(w, {"id": None})
    assert item["data"] == [2, 0, 0]
    assert item["label"] == "All events"


def test_entity_and_global_properties_are_anded():
    # §4.5: global `properties` and entity `properties` are ANDed.
    w = world(
        [
            ev("p1", "2020-01-01 10:00", plan="pro", browser="Chrome"),
            ev("p1", "2020-01-01 10:00", plan="pro", browser="Safari"),
            ev("p1", "2020-01-01 10:00", plan="free", browser="Chrome"),
        ]
    )
    entity = pageviews(properties=[{"key": "plan", "value": "pro"}])
    global_ = [{"key": "browser", "value": "Chrome", "type": "event"}]
    assert data(w, entity, properties=global_) == [1, 0, 0]


def test_filter_test_accounts():
    # §9: with filter_test_accounts (true or "true") the project's filters are ANDed in.
    test_filters = [
        {"key": "email", "value": "@test.com", "operator": "not_icontains", "type": "person"}
    ]
    w = world(
        [
            ev("p1", "2020-01-01 10:00", person_properties={"email": "a@test.com"}),
            ev("p2", "2020-01-01 10:00", person_properties={"email": "b@real.com"}),
        ],
        test_account_filters=test_filters,
    )
    assert data(w)[0] == 2
    assert data(w, filter_test_accounts=True)[0] == 1
    assert data(w, filter_test_accounts="true")[0] == 1
    assert data(w, filter_test_accounts="false")[0] == 2


# --- §4.2 maths -------------------------------------------------------------------------------

MATH_EVENTS = [
    ev("p1", "2020-01-01 10:00", groups={0: "g1"}, price="25", **{"$session_id": "s1"}),
    ev("p1", "2020-01-01 10:05", groups={0: "g1"}, price=10, **{"$session_id": "s1"}),
    ev("p2", "2020-01-01 11:00", groups={0: ""}, price="not a number", **{"$session_id": "s2"}),
    ev("p1", "2020-01-02 10:00", groups={0: "g2"}, price=5, **{"$session_id": "s3"}),
]


@pytest.mark.parametrize(
    ("math", "extra", "expected"),
    [
        (None, {}, [3, 1, 0]),
        ("total", {}, [3, 1, 0]),
        ("dau", {}, [2, 1, 0]),
        # Empty group keys are excluded (§4.2, §9 implicit `$group_0 is_not ''`).
        ("unique_group", {"math_group_type_index": 0}, [1, 1, 0]),
        ("unique_session", {}, [2, 1, 0]),
        # "25" counts as 25, "not a number" is ignored (§4.2).
        ("sum", {"math_property": "price"}, [35, 5, 0]),
        ("avg", {"math_property": "price"}, [17.5, 5, 0]),
        ("min", {"math_property": "price"}, [10, 5, 0]),
        ("max", {"math_property": "price"}, [25, 5, 0]),
        ("median", {"math_property": "price"}, [17.5, 5, 0]),
        ("p90", {"math_property": "price"}, [23.5, 5, 0]),  # 10 + 0.9 * 15
        ("p99", {"math_property": "price"}, [24.85, 5, 0]),
        # Per actor: Jan 1 p1 has 2 events, p2 has 1 (§4.2).
        ("avg_count_per_actor", {}, [1.5, 1, 0]),
        ("max_count_per_actor", {}, [2, 1, 0]),
        ("min_count_per_actor", {}, [1, 1, 0]),
        ("median_count_per_actor", {}, [1.5, 1, 0]),
    ],
)
def test_math_per_bucket(math, extra, expected):
    assert data(world(MATH_EVENTS), pageviews(math, **extra)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("math", "extra", "expected"),
    [
        ("total", {}, 4),
        ("dau", {}, 2),  # distinct over the range, not 2 + 1
        ("unique_group", {"math_group_type_index": 0}, 2),
        ("unique_session", {}, 3),
        ("sum", {"math_property": "price"}, 40),
        ("avg", {"math_property": "price"}, 40 / 3),
        ("avg_count_per_actor", {}, 2),  # p1: 3 events, p2: 1
    ],
)
def test_math_aggregated_over_the_whole_range(math, extra, expected):
    # §2.2: aggregated displays compute one number over all events of the range.
    (item,) = run(world(MATH_EVENTS), pageviews(math, **extra), display="ActionsTable")
    assert item["aggregated_value"] == pytest.approx(expected)


def test_count_per_actor_by_group():
    # §4.2: per actor = group when math_group_type_index is set.
    (item,) = run(world(MATH_EVENTS), pageviews("max_count_per_actor", math_group_type_index=0))
    assert item["data"] == [2, 1, 0]  # g1 has 2 events on Jan 1; the empty key is left out


def test_property_math_without_math_property_is_an_error():
    # §4.2: property math without `math_property` → validation error.
    with pytest.raises(ValueError, match="^math_property"):
        run(world([]), pageviews("sum"))


def test_unique_group_without_group_index_is_an_error():
    # §1 errors: `unique_group` without `math_group_type_index`.
    with pytest.raises(ValueError, match="^math_group_type_index"):
        run(world([]), pageviews("unique_group"))


def test_hogql_math_is_refused():
    # README: hogql math → 400 `unsupported_hogql` naming the field.
    with pytest.raises(ValueError, match="^math: unsupported_hogql"):
        run(world([]), pageviews("hogql", math_hogql="count()"))


def test_session_duration_counts_each_session_once_per_bucket():
    # §4.2: value per session = its duration; once per bucket where it has a matching event;
    # aggregated → once overall.
    events = [
        ev("p1", "2020-01-01 10:00:00", **{"$session_id": "s1"}),
        ev("p1", "2020-01-01 10:05:00", **{"$session_id": "s1"}),  # s1: 300 s
        ev("p1", "2020-01-01 23:59:00", **{"$session_id": "s2"}),
        ev("p1", "2020-01-02 00:01:00", **{"$session_id": "s2"}),  # s2: 120 s, two days
    ]
    entity = pageviews("sum", math_property="$session_duration")
    assert data(world(events), entity) == [420, 120, 0]
    (table,) = run(world(events), entity, display="ActionsTable")
    assert table["aggregated_value"] == 420


# --- §4.3 weekly / monthly active -------------------------------------------------------------


def test_weekly_active_rolling_window():
    # §4.3: bucket D counts actors with D - 6 days < t <= D + 1 day.
    events = [
        ev("p1", "2020-01-04 00:00:01"),  # inside Jan 10's window only
        ev("p3", "2020-01-03 23:00"),  # never inside
        ev("p2", "2020-01-10 12:00"),
    ]
    request = {"date_from": "2020-01-10", "date_to": "2020-01-12"}
    assert data(world(events), pageviews("weekly_active"), **request) == [2, 1, 1]


def test_weekly_active_aggregated_is_the_last_seven_days():
    # §4.3: aggregated WAU = distinct actors with events in [date_to - 7 days, date_to].
    events = [ev("p1", "2020-01-05 12:00"), ev("p2", "2020-01-06 00:30"), ev("p3", "2020-01-12")]
    request = {"date_from": "2020-01-10", "date_to": "2020-01-12", "display": "ActionsTable"}
    (item,) = run(world(events), pageviews("weekly_active"), **request)
    assert item["aggregated_value"] == 2  # p2, p3; Jan 5 12:00 is before Jan 5 23:59:59.999999


def test_monthly_active_rolling_window():
    # §4.3: 29 preceding days plus the day itself.
    events = [ev("p1", "2019-12-03 12:00"), ev("p2", "2019-12-02 12:00")]
    request = {"date_from": "2020-01-01", "date_to": "2020-01-02"}
    assert data(world(events), pageviews("monthly_active"), **request) == [1, 0]


def test_weekly_active_across_a_midnight_that_does_not_exist():
    # §4.3 with §3 local days: Chile skips 2020-09-06 00:00 (clocks go from 23:59:59 -04 to
    # 01:00 -03), so Sept 5's window ends, and Sept 6's day starts, at 04:00 UTC.
    events = [
        ev("p1", "2020-08-31 03:30"),  # Aug 30 23:30 local: Sept 5's window only
        ev("p4", "2020-09-01 03:59"),  # Aug 31 23:59 local: Sept 5 and 6
        ev("p2", "2020-09-06 03:30"),  # Sept 5 23:30 local: all three
        ev("p3", "2020-09-06 04:30"),  # Sept 6 01:30 local: Sept 6 and 7
    ]
    w = world(events, timezone="America/Santiago", now="2020-09-10 12:00")
    request = {"date_from": "2020-09-05", "date_to": "2020-09-07"}
    assert data(w, pageviews("weekly_active"), **request) == [3, 3, 2]


def test_weekly_active_hourly_in_a_half_hour_timezone():
    # §4.3 hourly windows (H - 6 days, H + 1 day] with local hours starting at :30 UTC (IST).
    # Events after date_to are not fetched, so the "next 24 hours" end at date_to here.
    events = [
        ev("p1", "2020-01-10 04:30"),  # Jan 10 10:00 local: inside every window
        ev("p2", "2020-01-04 03:00"),  # Jan 4 08:30 local: only 08:00's window has begun
        ev("p3", "2020-01-04 02:30"),  # Jan 4 08:00 local: the start of 08:00's, exclusive
        ev("p4", "2020-01-04 04:30"),  # Jan 4 10:00 local: the start of 10:00's, exclusive
    ]
    w = world(events, timezone="Asia/Kolkata", now="2020-01-12 12:00")
    request = {"interval": "hour", "date_from": "2020-01-10 08:00:00",
               "date_to": "2020-01-10 10:59:59"}  # fmt: skip
    assert data(w, pageviews("weekly_active"), **request) == [3, 2, 1]


def test_weekly_active_hour_interval_counts_the_next_24_hours():
    # §4.3: hourly WAU window is (H - 6 days, H + 1 day], a documented oddity.
    w = world([ev("p1", "2020-01-10 02:30")])
    request = {"interval": "hour", "date_from": "2020-01-10 00:00:00"}
    request["date_to"] = "2020-01-10 02:59:59"
    assert data(w, pageviews("weekly_active"), **request) == [1, 1, 1]


# --- §2.2 displays: cumulative and aggregated -------------------------------------------------

CUMULATIVE_EVENTS = [
    ev("p1", "2020-01-01 10:00"),
    ev("p1", "2020-01-02 10:00"),
    ev("p2", "2020-01-02 11:00"),
    ev("p3", "2020-01-03 10:00"),
]


def test_cumulative_total_is_a_running_sum_and_count_is_not():
    # §2.2: data is the running total; count stays the sum of the non-accumulated values.
    (item,) = run(world(CUMULATIVE_EVENTS), display="ActionsLineGraphCumulative")
    assert item["data"] == [1, 3, 4]
    assert item["count"] == 4


def test_cumulative_dau_counts_each_person_once():
    # §2.2: for dau the running total is the number of distinct actors seen so far.
    w = world(CUMULATIVE_EVENTS)
    assert data(w, pageviews("dau")) == [1, 2, 1]
    (item,) = run(w, pageviews("dau"), display="ActionsLineGraphCumulative")
    assert item["data"] == [1, 2, 3]
    assert item["count"] == 3


def test_cumulative_persons_urls_start_at_the_range_start():
    # §4.1: persons filter date_from is the filter date_from for cumulative displays.
    (item,) = run(world(CUMULATIVE_EVENTS), display="ActionsLineGraphCumulative")
    last = item["persons_urls"][-1]["filter"]
    assert datetime.fromisoformat(last["date_from"]) == at("2020-01-01 00:00")


def test_aggregated_display_shape():
    # §2.2: aggregated_value; data [], labels [], count 0, days stepped from date_from, persons.
    (item,) = run(world(CUMULATIVE_EVENTS), pageviews("dau"), display="ActionsPie")
    assert item["aggregated_value"] == 3
    assert item["data"] == []
    assert item["labels"] == []
    assert item["count"] == 0
    assert item["days"] == ["2020-01-01", "2020-01-02", "2020-01-03"]
    assert "persons" in item and "persons_urls" not in item
    assert "filter" in item


def test_aggregated_days_of_a_month_interval_step_30_days():
    # §3.2: aggregated displays step by 30 days for months.
    request = {"interval": "month", "date_from": "2020-01-01", "date_to": "2020-03-31"}
    (item,) = run(world([]), display="BoldNumber", **request)
    assert item["days"] == ["2020-01-01", "2020-01-31", "2020-03-01", "2020-03-31"]


# --- §2.3 smoothing ---------------------------------------------------------------------------

SMOOTH_EVENTS = (
    [ev("p1", "2020-01-01 10:00")] * 3
    + [ev("p1", "2020-01-03 10:00")] * 6
    + [ev("p1", "2020-01-04 10:00")] * 3
)


def test_smoothing_averages_over_previous_buckets_with_fewer_at_the_start():
    # §2.3: N > 1 → average of the bucket and the previous N-1; fractional values kept.
    request = {"date_from": "2020-01-01", "date_to": "2020-01-04"}
    w = world(SMOOTH_EVENTS)
    assert data(w, **request) == [3, 0, 6, 3]
    assert data(w, smoothing_intervals=2, **request) == [3, 1.5, 3, 4.5]
    assert data(w, smoothing_intervals=3, **request) == [3, 1.5, 3, 3]
    assert data(w, smoothing_intervals=1, **request) == [3, 0, 6, 3]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "x"])
def test_bad_smoothing_is_an_error(bad):
    # §2.3: N < 1 or non-integer → error.
    with pytest.raises(ValueError, match="^smoothing_intervals"):
        run(world([]), smoothing_intervals=bad)


# --- §4.4 breakdowns --------------------------------------------------------------------------


def browsers(spec: dict[object, int], day: str = "2020-01-01 10:00") -> list[Event]:
    """`n` events per `$browser` value (None = property absent)."""
    out = []
    for value, n in spec.items():
        props = {} if value is None else {"$browser": value}
        out += [ev(f"p{i}", day, **props) for i in range(n)]
    return out


def test_breakdown_null_bucket_labels_and_order():
    # §4.4.3: missing or empty → null sentinel, label "None (i.e. no value)", ranked like any
    # value; §4.4.6: count descending, ties by label (plain string compare: "Chrome" < "None").
    w = world(browsers({"Chrome": 3, "Safari": 2, None: 2, "": 1}))
    result = run(w, breakdown="$browser")
    assert [(i["label"], i["breakdown_value"], i["count"]) for i in result] == [
        ("Chrome", "Chrome", 3),
        ("None (i.e. no value)", NULL_VALUE, 3),
        ("Safari", "Safari", 2),
    ]
    assert set(result[0]) == {
        "action",
        "label",
        "count",
        "data",
        "labels",
        "days",
        "persons_urls",
        "filter",
        "breakdown_value",
    }
    assert result[0]["persons_urls"][0]["filter"]["breakdown_value"] == "Chrome"


def test_breakdown_numeric_property_becomes_a_string():
    # §4.4.2: numeric property 2 becomes "2".
    w = world([ev("p1", "2020-01-01 10:00", plan=2)])
    (item,) = run(w, breakdown="plan")
    assert item["breakdown_value"] == "2"
    assert item["label"] == "2"


def test_breakdown_limit_adds_other():
    # §4.4.1/4: top `breakdown_limit` values kept, the rest → "Other"; §4.4.6 orders by count,
    # so Other (3) sorts before "b" (3) by label ("O" < "b").
    w = world(browsers({"a": 4, "b": 3, "c": 2, "d": 1}))
    result = run(w, breakdown="$browser", breakdown_limit=2)
    assert [(i["label"], i["breakdown_value"], i["count"]) for i in result] == [
        ("a", "a", 4),
        ("Other (i.e. all remaining values)", OTHER_VALUE, 3),
        ("b", "b", 3),
    ]


def test_breakdown_ranking_ties_break_by_value_descending():
    # §4.4.1: order by aggregate descending then by value descending.
    w = world(browsers({"x": 1, "y": 1, "z": 1}))
    result = run(w, breakdown="$browser", breakdown_limit=2)
    assert {i["breakdown_value"] for i in result} == {"z", "y", OTHER_VALUE}


def test_breakdown_hide_other_aggregation_drops_other():
    # §2: breakdown_hide_other_aggregation drops the "Other" bucket and its events.
    w = world(browsers({"a": 4, "b": 3, "c": 2}))
    result = run(w, breakdown="$browser", breakdown_limit=2, breakdown_hide_other_aggregation=True)
    assert [i["breakdown_value"] for i in result] == ["a", "b"]


def test_breakdown_offset_shifts_the_top_values_window():
    # §4.4.8: offset shifts the top-N window.
    w = world(browsers({"a": 4, "b": 3, "c": 2, "d": 1}))
    result = run(w, breakdown="$browser", breakdown_limit=2, offset=2)
    assert [i["breakdown_value"] for i in result] == ["c", "d"]


def test_breakdown_default_limit_is_25_and_300_for_world_map():
    # §2: default limit 25 (300 for WorldMap).
    w = world(browsers({f"v{i:02d}": 1 for i in range(30)}))
    table = run(w, breakdown="$browser", display="ActionsTable")
    assert len(table) == 26
    assert OTHER_VALUE in [i["breakdown_value"] for i in table]
    world_map = run(w, breakdown="$browser", display="WorldMap")
    assert len(world_map) == 30


def test_breakdown_dau_ranks_by_event_count():
    # §4.4.1: for dau the ranking uses plain event counts.
    events = [ev("p1", "2020-01-01 10:00", **{"$browser": "a"})] * 3 + [
        ev("p2", "2020-01-01 10:00", **{"$browser": "b"}),
        ev("p3", "2020-01-01 10:00", **{"$browser": "b"}),
    ]
    result = run(world(events), pageviews("dau"), breakdown="$browser", breakdown_limit=1)
    # "a" is kept (3 events against 2); by dau Other (2 persons) then sorts first.
    assert [(i["breakdown_value"], i["count"]) for i in result] == [(OTHER_VALUE, 2), ("a", 1)]


def test_breakdown_with_several_entities_prefixes_labels():
    # §4.4.5 labels "<entity name> - <value>"; §4.1 each entity's series grouped together.
    w = world(
        browsers({"Chrome": 2}) + [ev("p1", "2020-01-01 10:00", "signup", **{"$browser": "Safari"})]
    )
    result = run(w, pageviews(), {"id": "signup"}, breakdown="$browser")
    assert [i["label"] for i in result] == ["$pageview - Chrome", "signup - Safari"]


def test_breakdown_without_events_gives_no_series():
    # §4.4.11: no breakdown values at all → the entity contributes no series.
    assert run(world([]), breakdown="$browser") == []


def test_person_and_group_breakdowns():
    # §4.4.2: person properties (current values) and group properties of $group_N.
    w = world(
        [
            ev("p1", "2020-01-01 10:00", groups={0: "g1"}, person_properties={"plan": "pro"}),
            ev("p2", "2020-01-01 10:00", person_properties={}),
        ]
    )
    w.group_properties[(0, "g1")] = {"industry": "tech"}
    person = run(w, breakdown="plan", breakdown_type="person")
    assert {i["breakdown_value"]: i["count"] for i in person} == {"pro": 1, NULL_VALUE: 1}
    group = run(w, breakdown="industry", breakdown_type="group", breakdown_group_type_index=0)
    assert {i["breakdown_value"]: i["count"] for i in group} == {"tech": 1, NULL_VALUE: 1}


def test_group_breakdown_needs_a_group_type_index():
    with pytest.raises(ValueError, match="^breakdown_group_type_index"):
        run(world([]), breakdown="industry", breakdown_type="group")


def test_hogql_breakdown_is_refused():
    # README: hogql breakdowns → 400 unsupported_hogql naming the field.
    with pytest.raises(ValueError, match="^breakdown: unsupported_hogql"):
        run(world([]), breakdown="properties.x", breakdown_type="hogql")


def test_breakdown_normalize_url():
    # §4.4.10: trailing `/`, `?`, `#` removed before grouping; empty becomes `/`.
    urls = ["https://x.com/a/", "https://x.com/a", "https://x.com/a?#", "/"]
    w = world([ev("p1", "2020-01-01 10:00", **{"$current_url": u}) for u in urls])
    result = run(w, breakdown="$current_url", breakdown_normalize_url=True)
    assert {i["breakdown_value"]: i["count"] for i in result} == {"https://x.com/a": 3, "/": 1}


def test_cohort_breakdown_all_first_then_cohorts():
    # §4.4.7: one series per cohort (overlapping), `all` = everyone with label "all users";
    # README: an unknown cohort id is an error naming the field.
    w = world([ev("p1", "2020-01-01 10:00"), ev("p2", "2020-01-01 10:00")])
    w.cohorts[5] = Cohort(5, person_ids=frozenset({"p1"}))
    result = run(w, breakdown=[5, "all"], breakdown_type="cohort")
    assert [(i["breakdown_value"], i["label"], i["count"]) for i in result] == [
        ("all", "all users", 2),
        (5, "5", 1),
    ]
    with pytest.raises(ValueError, match="^breakdown"):
        run(w, breakdown=[6], breakdown_type="cohort")


def test_histogram_breakdown_buckets():
    # §4.4.9: edges = quantiles 0, 1/3, 2/3, 1 floored to 2 decimals; the last edge + 0.01;
    # bucket k = [edge_k, edge_k+1); labels like "[0.0,69.92]" and "[110.72,180.01]".
    values = [0, 69.925, 110.72, 180.0]
    w = world([ev("p1", "2020-01-01 10:00", amount=v) for v in values])
    result = run(w, breakdown="amount", breakdown_histogram_bin_count=3)
    assert [(i["breakdown_value"], i["count"]) for i in result] == [
        ("[0.0,69.92]", 1),
        ("[69.92,110.72]", 1),
        ("[110.72,180.01]", 2),
    ]


def test_histogram_with_one_value_and_with_no_value():
    # §4.4.9: one distinct value v → "[v,v+0.01]"; property absent everywhere → "[nan,nan]"
    # with zeros.
    w = world([ev("p1", "2020-01-01 10:00", amount=5)] * 2)
    (single,) = run(w, breakdown="amount", breakdown_histogram_bin_count=4)
    assert (single["breakdown_value"], single["count"]) == ("[5.0,5.01]", 2)
    (absent,) = run(w, breakdown="other", breakdown_histogram_bin_count=4)
    assert (absent["breakdown_value"], absent["data"]) == ("[nan,nan]", [0, 0, 0])


def test_bold_number_ignores_breakdown():
    # §2.2: BoldNumber ignores breakdown entirely.
    (item,) = run(world(browsers({"a": 2, "b": 1})), breakdown="$browser", display="BoldNumber")
    assert item["aggregated_value"] == 3
    assert "breakdown_value" not in item


def test_aggregated_breakdown_orders_by_aggregated_value():
    # §4.4.6: aggregated displays order by aggregated_value descending.
    w = world(browsers({"a": 1, "b": 3}))
    result = run(w, breakdown="$browser", display="ActionsTable")
    assert [(i["breakdown_value"], i["aggregated_value"]) for i in result] == [("b", 3), ("a", 1)]


def test_breakdown_is_ordered_before_cumulative_accumulation():
    # §4.4.6: ordering by count happens before accumulation.
    w = world(browsers({"a": 2}, "2020-01-03 10:00") + browsers({"b": 1}, "2020-01-01 10:00"))
    result = run(w, breakdown="$browser", display="ActionsLineGraphCumulative")
    assert [(i["breakdown_value"], i["data"]) for i in result] == [
        ("a", [0, 0, 2]),
        ("b", [1, 1, 1]),
    ]


# --- §5 formula -------------------------------------------------------------------------------

FORMULA_EVENTS = [
    ev("p1", "2020-01-01 10:00", duration=3),
    ev("p1", "2020-01-01 10:00", "signup"),
    ev("p1", "2020-01-02 10:00", duration=2),
    ev("p1", "2020-01-02 10:00", "signup"),
]


def formula(w: World, text: str, *entities: dict, **filter: object) -> list[dict]:
    entities = entities or (pageviews(), {"id": "signup"})
    return run(w, *entities, formula=text, **filter)


def test_formula_sum_and_minimal_item():
    # §5: element-wise evaluation; minimal items; label `Formula (<formula>)`.
    (item,) = formula(world(FORMULA_EVENTS), "B + A")
    assert item["data"] == [2, 2, 0]
    assert item["count"] == 4
    assert item["label"] == "Formula (B + A)"
    assert set(item) == {"data", "count", "labels", "days", "label"}


def test_formula_worked_example_count_is_one_over_720():
    # §5: `(A/3600)/B` over two days with 1/1200 and 1/1800 → count 1/720.
    entities = (pageviews("sum", math_property="duration"), {"id": "signup"})
    (item,) = formula(world(FORMULA_EVENTS), "(A/3600)/B", *entities, date_to="2020-01-02")
    assert item["data"] == pytest.approx([1 / 1200, 1 / 1800])
    assert item["count"] == pytest.approx(1 / 720)


def test_formula_division_by_zero_is_zero():
    # §5: NaN / ±Inf elements become 0 (`A/0` → all zeros, count 0).
    (item,) = formula(world(FORMULA_EVENTS), "A/0")
    assert item["data"] == [0, 0, 0]
    assert item["count"] == 0
    (ratio,) = formula(world(FORMULA_EVENTS), "A/B")
    assert ratio["data"] == [1, 1, 0]  # the empty Jan 3 is 0/0


def test_formula_division_by_zero_on_aggregated_display_is_zero():
    # README decision: aggregated displays give 0 too.
    (item,) = formula(world([]), "A/B", display="ActionsTable")
    assert item["aggregated_value"] == 0
    assert item["data"] == []


def test_formula_letters_follow_series_order():
    # §5: letters map to series by position after sorting by `order`.
    entities = (pageviews(order=1), {"id": "signup", "order": 0})
    w = world(FORMULA_EVENTS + [ev("p1", "2020-01-01 11:00")])
    (item,) = formula(w, "A - B", *entities)
    assert item["data"] == [-1, 0, 0]  # signup (A) minus pageviews (B)


def test_formula_constants_unary_minus_parentheses_and_dropped_characters():
    # §5: only `[a-zA-Z \-*^0-9+/().]` are kept; the label shows the formula as sent.
    (item,) = formula(world(FORMULA_EVENTS), "-(A + 1) * 2 + B$")
    assert item["data"] == [-3, -3, -2]
    assert item["label"] == "Formula (-(A + 1) * 2 + B$)"
    (lower,) = formula(world(FORMULA_EVENTS), "a + b")
    assert lower["data"] == [2, 2, 0]


@pytest.mark.parametrize(
    "text", ["A + C", "A +", "(A", "A)", "A B", "2A", "A ^ 2", "A..B", "*A", "()", "$"]
)
def test_bad_formula_is_an_error_naming_formula(text):
    with pytest.raises(ValueError, match="^formula"):
        formula(world(FORMULA_EVENTS), text)


def test_formula_aggregated_applies_once_to_aggregated_values():
    # §5: each series reduced to its aggregated value, then the formula once.
    entities = (pageviews("dau"), {"id": "signup"})
    (item,) = formula(world(FORMULA_EVENTS), "A / B", *entities, display="ActionsTable")
    assert item["aggregated_value"] == pytest.approx(0.5)  # 1 person / 2 signups
    assert item["label"] == "Formula (A / B)"


def test_formula_cumulative_accumulates_after_evaluation():
    # §5: cumulative display accumulates after the formula.
    (item,) = formula(world(FORMULA_EVENTS), "A * 2", display="ActionsLineGraphCumulative")
    assert item["data"] == [2, 4, 4]
    assert item["count"] == 4


def test_formula_with_breakdown_joins_on_values():
    # §5: each series has its own top values, full outer join (missing → 0); label and
    # breakdown_value are the raw value (null → sentinel); A's values first, then B's new ones.
    events = [
        ev("p1", "2020-01-01 10:00", **{"$browser": "Chrome"}),
        ev("p1", "2020-01-01 10:00", **{"$browser": "Chrome"}),
        ev("p1", "2020-01-01 10:00"),
        ev("p1", "2020-01-01 10:00", "signup", **{"$browser": "Chrome"}),
        ev("p1", "2020-01-01 10:00", "signup", **{"$browser": "Firefox"}),
    ]
    result = formula(world(events), "A + B", breakdown="$browser")
    assert [(i["label"], i["breakdown_value"], i["count"]) for i in result] == [
        ("Chrome", "Chrome", 3),
        (NULL_VALUE, NULL_VALUE, 1),
        ("Firefox", "Firefox", 1),
    ]
    assert set(result[0]) == {"data", "count", "labels", "days", "label", "breakdown_value"}


def test_formula_with_compare_runs_twice():
    # §5 + §6: current formula series then previous, with compare labels.
    w = world(FORMULA_EVENTS + [ev("p1", "2019-12-30 10:00")])
    result = formula(w, "A + B", compare=True)
    assert [i["compare_label"] for i in result] == ["current", "previous"]
    assert result[1]["days"] == ["2019-12-29", "2019-12-30", "2019-12-31"]
    assert result[1]["data"] == [0, 1, 0]
    assert result[0]["labels"] == ["day 0", "day 1", "day 2"]


# --- §6 compare -------------------------------------------------------------------------------


def test_compare_minus_7d_previous_period_shares_one_day():
    # §6: `-7d` compares with the 8 days ending on the first day of the current range.
    w = world([ev("p1", "2020-01-08 10:00")], now="2020-01-15 12:00")
    current, previous = trends({"events": [pageviews()], "date_from": "-7d", "compare": True}, w)
    assert current["days"][0] == "2020-01-08" and current["days"][-1] == "2020-01-15"
    assert previous["days"][0] == "2020-01-01" and previous["days"][-1] == "2020-01-08"
    assert current["data"][0] == 1 and previous["data"][-1] == 1
    assert current["labels"] == [f"day {i}" for i in range(8)]
    assert (current["compare"], current["compare_label"]) == (True, "current")
    assert (previous["compare"], previous["compare_label"]) == (True, "previous")
    assert current["label"] == previous["label"] == "$pageview"


def test_compare_absolute_range_takes_the_days_before():
    # §6: previous_from = date_from - (date_to - date_from), aligned to day boundaries.
    w = world([])
    _, previous = run(w, date_from="2020-01-08", date_to="2020-01-14", compare="true")
    assert previous["days"] == [f"2020-01-{d:02d}" for d in range(1, 8)]


def test_compare_hour_interval_keeps_clock_times():
    # §6: hour interval: previous_from keeps date_from's clock time. For a 24-hour range that
    # is the day before; for a shorter range PostHog's `.replace()` would give the current
    # period again, so the oracle takes the same hours of the day before (OPEN_QUESTIONS).
    request = {"interval": "hour", "date_from": "2020-01-02 10:00:00"}
    request["date_to"] = "2020-01-03 09:59:59"
    _, previous = run(world([]), compare=True, **request)
    assert previous["days"][0] == "2020-01-01 10:00:00"
    assert previous["days"][-1] == "2020-01-02 09:00:00"
    assert previous["labels"] == [f"hour {i}" for i in range(24)]
    request["date_to"] = "2020-01-02 12:59:59"
    _, short = run(world([]), compare=True, **request)
    assert short["days"] == ["2020-01-01 10:00:00", "2020-01-01 11:00:00", "2020-01-01 12:00:00"]


def test_compare_orders_current_then_previous_per_entity():
    # §4.1: for each entity, its current series then its previous series.
    result = run(world([]), pageviews(), {"id": "signup"}, compare=True)
    assert [(i["label"], i["compare_label"]) for i in result] == [
        ("$pageview", "current"),
        ("$pageview", "previous"),
        ("signup", "current"),
        ("signup", "previous"),
    ]


# --- §7 stickiness ----------------------------------------------------------------------------


def test_stickiness_histogram_of_active_days():
    # §7: actors by number of active buckets; total_intervals = floor(6.99 days) + 2 = 8 →
    # 7 points; labels "1 day", "2 days"; count = number of actors.
    events = [
        ev("p1", "2020-01-01 10:00"),
        ev("p1", "2020-01-02 10:00"),
        ev("p1", "2020-01-02 11:00"),
        ev("p2", "2020-01-03 10:00"),
        *[ev("p3", f"2020-01-0{d} 10:00") for d in range(1, 8)],
    ]
    request = {"events": [pageviews()], "date_from": "2020-01-01", "date_to": "2020-01-07"}
    (item,) = stickiness(request, world(events))
    assert item["data"] == [1, 1, 0, 0, 0, 0, 1]
    assert item["labels"] == ["1 day"] + [f"{k} days" for k in range(2, 8)]
    assert item["days"] == [1, 2, 3, 4, 5, 6, 7]
    assert item["count"] == 3
    assert item["label"] == "$pageview"
    assert item["persons_urls"][1]["filter"]["stickiness_days"] == 2
    (via_trends,) = trends({**request, "shown_as": "Stickiness"}, world(events))
    assert without_filter(via_trends) == without_filter(item)
    assert via_trends["filter"]["insight"] == "STICKINESS"


def test_stickiness_weeks_labels():
    # §7: week total_intervals = days // 7 + 2; unit singular for 1, plural otherwise.
    request = {"events": [pageviews()], "interval": "week", "insight": "STICKINESS"}
    request |= {"date_from": "2020-01-05", "date_to": "2020-01-18"}
    (item,) = trends(request, world([ev("p1", "2020-01-06 10:00"), ev("p1", "2020-01-13 10:00")]))
    assert item["labels"] == ["1 week", "2 weeks"]
    assert item["data"] == [0, 1]


# --- §8 lifecycle -----------------------------------------------------------------------------

LIFECYCLE_EVENTS = [
    # p1: created Jan 2 → new; Jan 3 returning; Jan 4 dormant; Jan 5 resurrecting.
    ev("p1", "2020-01-02 10:00"),
    ev("p1", "2020-01-03 10:00"),
    ev("p1", "2020-01-05 10:00"),
    # p2: created Jan 1 (before the range) → Jan 2 returning; Jan 3 dormant.
    ev("p2", "2020-01-01 10:00"),
    ev("p2", "2020-01-02 10:00"),
    # p3: created Dec 20 by another event → Jan 3 resurrecting; Jan 4 dormant.
    ev("p3", "2019-12-20 10:00", "signup"),
    ev("p3", "2020-01-03 10:00"),
    # p4: activity older than the fetch window → Jan 2 resurrecting (§8 last bullet); Jan 3
    # dormant.
    ev("p4", "2019-12-25 10:00"),
    ev("p4", "2020-01-02 10:00"),
]


def test_lifecycle_statuses_in_readme_order_with_negative_dormant():
    # §8 + README: order new, returning, resurrecting, dormant; dormant negative.
    request = {"events": [pageviews()], "date_from": "2020-01-02", "date_to": "2020-01-05"}
    result = lifecycle(request, world(LIFECYCLE_EVENTS))
    assert [i["status"] for i in result] == ["new", "returning", "resurrecting", "dormant"]
    assert [i["label"] for i in result] == [
        "$pageview - new",
        "$pageview - returning",
        "$pageview - resurrecting",
        "$pageview - dormant",
    ]
    assert by_label(result) == {
        "$pageview - new": [1, 0, 0, 0],
        "$pageview - returning": [1, 1, 0, 0],
        "$pageview - resurrecting": [1, 1, 0, 1],
        "$pageview - dormant": [0, -2, -2, 0],
    }
    assert result[3]["count"] == -4
    assert result[0]["days"] == ["2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05"]
    assert trends({**request, "insight": "LIFECYCLE"}, world(LIFECYCLE_EVENTS)) == result
    assert trends({**request, "shown_as": "Lifecycle"}, world(LIFECYCLE_EVENTS)) == result


# --- more rules and the oracle's choices ------------------------------------------------------


def test_get_style_json_encoded_params():
    # §1: on GET, events / properties are JSON-encoded strings and booleans strings.
    w = world([ev("p1", "2020-01-01 10:00", plan="pro"), ev("p2", "2020-01-01 10:00")])
    request = {
        "events": '[{"id": "$pageview", "math": "dau"}]',
        "properties": '[{"key": "plan", "value": "pro"}]',
        "date_from": "2020-01-01",
        "date_to": "2020-01-02",
        "compare": "true",
        "smoothing_intervals": "1",
    }
    current, previous = trends(request, w)
    assert current["data"] == [1, 0]
    assert previous["compare_label"] == "previous"


def test_sampling_factor_validation():
    # §2.4: outside (0, 1] → error; 0/empty = off; real sampling is not modelled by the oracle.
    w = world([ev("p1", "2020-01-01 10:00")])
    with pytest.raises(ValueError, match="^sampling_factor"):
        run(w, sampling_factor=2)
    assert data(w, sampling_factor=1) == data(w, sampling_factor=0) == [1, 0, 0]
    with pytest.raises(NotImplementedError):
        run(w, sampling_factor=0.5)


def test_unique_session_ignores_events_without_a_session():
    # Choice (OPEN_QUESTIONS): no `$session_id` is not a session.
    w = world([ev("p1", "2020-01-01 10:00"), ev("p1", "2020-01-01 10:00", **{"$session_id": "s"})])
    assert data(w, pageviews("unique_session")) == [1, 0, 0]


def test_compare_minus_14d_shifts_but_a_relative_date_to_does_not():
    # §6: the one-day shift needs `-Nd` with N a multiple of 7 and a non-relative date_to.
    w = world([], now="2020-01-20 12:00")
    _, shifted = trends({"events": [pageviews()], "date_from": "-14d", "compare": True}, w)
    assert (shifted["days"][0], shifted["days"][-1]) == ("2019-12-23", "2020-01-06")
    request = {"events": [pageviews()], "date_from": "-14d", "date_to": "-1d", "compare": True}
    current, previous = trends(request, w)
    assert (current["days"][0], current["days"][-1]) == ("2020-01-06", "2020-01-19")
    assert (previous["days"][0], previous["days"][-1]) == ("2019-12-23", "2020-01-05")


def test_session_duration_breakdown():
    # §4.4.2: `session` breakdowns support `$session_duration` (numeric seconds per session);
    # no session → the numeric null value (§4.4.3); no "Other" (§4.4.4).
    events = [
        ev("p1", "2020-01-01 10:00:00", **{"$session_id": "s1"}),
        ev("p1", "2020-01-01 10:05:00", **{"$session_id": "s1"}),
        ev("p1", "2020-01-01 11:00:00", **{"$session_id": "s2"}),
        ev("p1", "2020-01-01 12:00:00"),
    ]
    result = run(world(events), breakdown="$session_duration", breakdown_type="session")
    assert [(i["breakdown_value"], i["label"], i["count"]) for i in result] == [
        (300, "300", 2),
        (0, "0", 1),
        (9007199254740990, "None (i.e. no value)", 1),
    ]
    limited = run(
        world(events), breakdown="$session_duration", breakdown_type="session", breakdown_limit=1
    )
    assert [i["breakdown_value"] for i in limited] == [300]
    with pytest.raises(ValueError, match="^breakdown"):
        run(world(events), breakdown="$session_id", breakdown_type="session")


def test_multiple_breakdowns():
    # Choice (OPEN_QUESTIONS): `breakdowns` values are lists, labels joined with "::".
    events = [
        ev("p1", "2020-01-01 10:00", person_properties={"plan": "pro"}, **{"$browser": "Chrome"}),
        ev("p1", "2020-01-01 11:00", person_properties={"plan": "pro"}, **{"$browser": "Chrome"}),
        ev("p2", "2020-01-01 10:00", **{"$browser": "Safari"}),
    ]
    breakdowns = [{"property": "$browser", "type": "event"}, {"property": "plan", "type": "person"}]
    result = run(world(events), breakdowns=breakdowns)
    assert [(i["breakdown_value"], i["label"], i["count"]) for i in result] == [
        (["Chrome", "pro"], "Chrome::pro", 2),
        (["Safari", NULL_VALUE], "Safari::None (i.e. no value)", 1),
    ]


def test_formula_with_cohort_breakdown_labels_are_cohort_names():
    # §5: with breakdown, label = breakdown_value = cohort name / "all users".
    w = world([ev("p1", "2020-01-01 10:00"), ev("p2", "2020-01-01 10:00")])
    w.cohorts[5] = Cohort(5, person_ids=frozenset({"p1"}))
    result = run(w, pageviews(), formula="A * 10", breakdown=["all", 5], breakdown_type="cohort")
    assert [(i["label"], i["breakdown_value"], i["count"]) for i in result] == [
        ("all users", "all users", 20),
        ("5", "5", 10),
    ]


def test_stickiness_compare():
    # §7: compare works as in trends (current then previous, labels `<interval> <i>`).
    w = world([ev("p1", "2020-01-01 10:00"), ev("p2", "2019-12-30 10:00")])
    request = {"events": [pageviews()], "date_from": "2020-01-01", "date_to": "2020-01-03"}
    current, previous = stickiness({**request, "compare": True}, w)
    assert (current["compare_label"], current["data"]) == ("current", [1, 0, 0])
    assert (previous["compare_label"], previous["data"]) == ("previous", [1, 0, 0])
    assert current["labels"] == ["day 0", "day 1", "day 2"]


def test_lifecycle_ignores_math_and_uses_the_first_entity():
    # §8: the first entity only; counts persons whatever the math.
    request = {
        "events": [pageviews("sum", math_property="x", order=0), {"id": "signup", "order": 1}],
        "date_from": "2020-01-02",
        "date_to": "2020-01-05",
    }
    result = lifecycle(request, world(LIFECYCLE_EVENTS))
    assert result[0]["data"] == [1, 0, 0, 0]
    assert result[0]["label"] == "$pageview - new"
