"""Example tests for the retention oracle; each cites the rule of retention_paths.md part A (or
the spec README) that it reproduces."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from tests.oracles.model import Action, Event, Project, World
from tests.oracles.retention import (
    parse_date_param,
    retention,
    retention_people,
    retention_window,
)

_uuids = itertools.count()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ev(
    person: str,
    ts: str,
    event: str = "$pageview",
    props: dict | None = None,
    person_props: dict | None = None,
    distinct_id: str | None = None,
    groups: dict | None = None,
) -> Event:
    return Event(
        uuid=f"u{next(_uuids)}",
        event=event,
        distinct_id=distinct_id or person,
        person_id=person,
        timestamp=at(ts),
        properties=props or {},
        person_properties=person_props or {},
        groups=groups or {},
    )


def world(events: list[Event], **project) -> World:
    return World(events=events, project=Project(**project), now=at("2021-01-01T00:00:00Z"))


def counts(result: list[dict]) -> list[list[int]]:
    return [[cell["count"] for cell in row["values"]] for row in result]


def actors(result: list[dict]) -> list[list[set]]:
    return [[cell["actor_ids"] for cell in row["values"]] for row in result]


DAY4 = {"period": "Day", "total_intervals": 4, "date_to": "2020-06-13"}  # cohorts 6/10..6/13

# p1 on 6/10, 6/11, 6/13; p2 on 6/11, 6/12.
BASIC = [
    ev("p1", "2020-06-10T10:00:00Z"),
    ev("p1", "2020-06-11T10:00:00Z"),
    ev("p1", "2020-06-13T10:00:00Z"),
    ev("p2", "2020-06-11T10:00:00Z"),
    ev("p2", "2020-06-12T10:00:00Z"),
]


# ------------------------------------------------------------------------------------------
# A3: date window
# ------------------------------------------------------------------------------------------


def test_a3_day_example():
    # A3 example: Day, N=11, date_to=2020-06-20T06:00 -> DATE_TO 6/21, DATE_FROM 6/10.
    filt = {"period": "Day", "total_intervals": 11, "date_to": "2020-06-20T06:00:00"}
    window = retention_window(filt, world([]))
    assert window.date_to == at("2020-06-21T00:00:00Z")
    assert window.date_from == at("2020-06-10T00:00:00Z")
    result = retention(filt, world([]))
    assert [row["date"] for row in result] == [f"2020-06-{d}T00:00:00Z" for d in range(10, 21)]
    assert [row["label"] for row in result] == [f"Day {c}" for c in range(11)]


@pytest.mark.parametrize(
    ("week_start_day", "first", "last"),
    [(0, "2020-06-07", "2020-07-19"), (1, "2020-06-08", "2020-07-20")],
)
def test_a3_week_example(week_start_day, first, last):
    # A3 example: Week, N=7, date_to=2020-07-20 -> DATE_TO 7/27; Sunday or Monday weeks.
    filt = {"period": "Week", "total_intervals": 7, "date_to": "2020-07-20"}
    w = world([], week_start_day=week_start_day)
    window = retention_window(filt, w)
    assert window.date_to == at("2020-07-27T00:00:00Z")
    dates = [row["date"] for row in retention(filt, w)]
    assert dates[0] == f"{first}T00:00:00Z"
    assert dates[-1] == f"{last}T00:00:00Z"
    assert [row["label"] for row in retention(filt, w)][-1] == "Week 6"


def test_a3_hour_drops_minutes():
    # A3.2: Hour adds one hour and drops minutes and seconds.
    filt = {"period": "Hour", "total_intervals": 3, "date_to": "2020-06-20T06:45:10"}
    window = retention_window(filt, world([]))
    assert window.date_to == at("2020-06-20T07:00:00Z")
    assert window.date_from == at("2020-06-20T04:00:00Z")
    assert [row["label"] for row in retention(filt, world([]))] == ["Hour 0", "Hour 1", "Hour 2"]


def test_readme_month_cohorts_start_on_the_first():
    # README overrides A3: calendar months, cohorts start on the 1st.
    filt = {"period": "Month", "total_intervals": 3, "date_to": "2020-03-15"}
    window = retention_window(filt, world([]))
    assert window.date_from == at("2020-01-01T00:00:00Z")
    assert window.date_to == at("2020-04-15T00:00:00Z")
    result = retention(filt, world([]))
    assert [row["date"] for row in result] == [
        "2020-01-01T00:00:00Z",
        "2020-02-01T00:00:00Z",
        "2020-03-01T00:00:00Z",
    ]
    assert [row["label"] for row in result] == ["Month 0", "Month 1", "Month 2"]


def test_readme_month_first_period_is_full_and_calendar():
    # README: period 0 is the whole first month (not from date_to's day); Jan 31 -> Feb 1 is
    # one month later.
    events = [
        ev("p1", "2020-01-02T00:00:00Z"),
        ev("p1", "2020-01-31T23:00:00Z"),
        ev("p1", "2020-02-01T00:30:00Z"),
    ]
    filt = {"period": "Month", "total_intervals": 3, "date_to": "2020-03-15"}
    assert counts(retention(filt, world(events))) == [[1, 1, 0], [1, 0], [0]]


def test_readme_month_first_time_cohort_0_not_empty():
    # README: the A3 quirk (monthly first-time cohort 0 always empty) is not reproduced.
    events = [
        ev("early", "2020-01-03T00:00:00Z"),  # before date_to's day-of-month (15th)
        ev("before", "2019-12-31T23:59:59Z"),  # first ever event before the window
        ev("before", "2020-01-20T00:00:00Z"),
    ]
    filt = {
        "period": "Month",
        "total_intervals": 3,
        "date_to": "2020-03-15",
        "retention_type": "retention_first_time",
    }
    result = retention(filt, world(events))
    assert counts(result) == [[1, 0, 0], [0, 0], [0]]
    assert result[0]["values"][0]["actor_ids"] == {"early"}


def test_a3_naive_date_to_in_team_tz_and_offset_serialisation():
    # A2: a naive date_to is read in team tz; A5/open question 7: dates carry the team offset.
    events = [
        ev("night", "2020-06-10T05:00:00Z"),  # 6/9 22:00 in Los Angeles: before the window
        ev("day", "2020-06-10T08:00:00Z"),  # 6/10 01:00 in Los Angeles
    ]
    w = world(events, timezone="America/Los_Angeles")
    result = retention({"period": "Day", "total_intervals": 1, "date_to": "2020-06-10"}, w)
    assert result[0]["date"] == "2020-06-10T00:00:00-07:00"
    assert actors(result) == [[{"day"}]]


def test_a3_relative_and_missing_date_to():
    # A2: date_to defaults to now; relative strings count back from now in team tz.
    w = World(events=[], now=at("2020-06-20T12:00:00Z"))
    assert retention_window({"total_intervals": 2}, w).date_to == at("2020-06-21T00:00:00Z")
    window = retention_window({"total_intervals": 2, "date_to": "-1d"}, w)
    assert window.date_to == at("2020-06-20T00:00:00Z")
    assert window.date_from == at("2020-06-18T00:00:00Z")


def test_a3_default_total_intervals_is_11():
    # A2: total_intervals defaults to 11; period defaults to Day.
    result = retention({"date_to": "2020-06-20"}, world([]))
    assert len(result) == 11
    assert [len(row["values"]) for row in result] == list(range(11, 0, -1))
    assert result[0]["label"] == "Day 0"


def test_a3_event_exactly_at_date_to_is_included():
    # A3.5 + README: an event at exactly DATE_TO (midnight after the last day) is included; it
    # lands in period N, so only breakdown mode shows it.
    events = [
        ev("edge", "2020-06-14T00:00:00Z", props={"browser": "Chrome"}),
        ev("late", "2020-06-14T00:00:00.000001Z", props={"browser": "Firefox"}),
    ]
    filt = {**DAY4, "breakdowns": [{"type": "event", "property": "browser"}]}
    filt["breakdown_type"] = "event"
    result = retention(filt, world(events))
    assert [row["breakdown_values"] for row in result] == [["Chrome"]]
    assert counts(result) == [[1, 0, 0, 0]]
    assert counts(retention(DAY4, world(events))) == [[0, 0, 0, 0], [0, 0, 0], [0, 0], [0]]


# ------------------------------------------------------------------------------------------
# A4: cohorting
# ------------------------------------------------------------------------------------------


def test_a4_recurring_actor_in_every_cohort():
    # A4 recurring: an actor belongs to every cohort in which they performed the target event.
    result = retention(DAY4, world(BASIC))
    assert counts(result) == [[1, 1, 0, 1], [2, 1, 1], [1, 0], [1]]
    assert actors(result)[1] == [{"p1", "p2"}, {"p2"}, {"p1"}]


def test_a2_unknown_retention_type_is_recurring():
    # A2: anything other than retention_first_time behaves as recurring (the API test sends
    # "retention").
    filt = {**DAY4, "retention_type": "retention"}
    assert counts(retention(filt, world(BASIC))) == [[1, 1, 0, 1], [2, 1, 1], [1, 0], [1]]


def test_a4_first_time_one_cohort_each():
    # A4 first-time: each actor is in the cohort of their first-ever target event only.
    filt = {**DAY4, "retention_type": "retention_first_time"}
    assert counts(retention(filt, world(BASIC))) == [[1, 1, 0, 1], [1, 1, 0], [0, 0], [0]]


def test_a4_first_time_before_window_excluded():
    # A4: the minimum is over all time; `shouldnt_include` first appeared before the window.
    events = [
        ev("shouldnt_include", "2020-06-01T10:00:00Z"),
        ev("shouldnt_include", "2020-06-11T10:00:00Z"),
        ev("p1", "2020-06-11T10:00:00Z"),
    ]
    first_time = {**DAY4, "retention_type": "retention_first_time"}
    assert actors(retention(first_time, world(events)))[1][0] == {"p1"}
    assert actors(retention(DAY4, world(events)))[1][0] == {"p1", "shouldnt_include"}


def test_a4_first_time_respects_properties_over_all_time():
    # A4: property filters and the entity apply before the all-time minimum.
    events = [
        ev("p1", "2020-06-01T10:00:00Z", props={"plan": "free"}),
        ev("p1", "2020-06-11T10:00:00Z", props={"plan": "pro"}),
    ]
    filt = {
        **DAY4,
        "retention_type": "retention_first_time",
        "properties": [{"key": "plan", "value": "pro", "type": "event"}],
    }
    assert actors(retention(filt, world(events)))[1][0] == {"p1"}


def test_a4_interval_0_is_cohort_size_whatever_the_returning_entity():
    # A4: interval 0 is always counted.
    events = [ev("p1", "2020-06-10T10:00:00Z", event="signup")]
    filt = {
        **DAY4,
        "target_entity": {"id": "signup", "type": "events"},
        "returning_entity": {"id": "never_happens", "type": "events"},
    }
    assert counts(retention(filt, world(events)))[0] == [1, 0, 0, 0]


def test_a4_event_action_same_period_not_counted_again():
    # A4 test_retention_event_action: a return in the cohort's own period adds nothing.
    events = [
        ev("p1", "2020-06-10T10:00:00Z", event="signup"),
        ev("p1", "2020-06-10T12:00:00Z"),
        ev("p1", "2020-06-12T12:00:00Z"),
    ]
    filt = {
        **DAY4,
        "target_entity": {"id": "signup", "type": "events"},
        "returning_entity": {"id": "$pageview", "type": "events"},
    }
    assert counts(retention(filt, world(events)))[0] == [1, 0, 1, 0]


def test_a4_only_period_index_matters():
    # A4: no 24-hour rule; 23:00 on day 0 and 00:30 on day 1 are one period apart. Within a
    # period the order does not matter: p2's view before its day-1 signup adds nothing (same
    # period), its view on day 2 counts.
    events = [
        ev("p1", "2020-06-10T23:00:00Z", event="signup"),
        ev("p1", "2020-06-11T00:30:00Z", event="view"),
        ev("p2", "2020-06-11T01:00:00Z", event="view"),
        ev("p2", "2020-06-11T23:00:00Z", event="signup"),
        ev("p2", "2020-06-12T00:00:00Z", event="view"),
    ]
    filt = {
        **DAY4,
        "target_entity": {"id": "signup", "type": "events"},
        "returning_entity": {"id": "view", "type": "events"},
    }
    assert counts(retention(filt, world(events))) == [[1, 1, 0, 0], [1, 1, 0], [0, 0], [0]]


def test_a4_returning_before_cohort_ignored():
    # A4: only returning periods r > c count.
    events = [
        ev("p1", "2020-06-10T10:00:00Z", event="view"),
        ev("p1", "2020-06-12T10:00:00Z", event="signup"),
    ]
    filt = {
        **DAY4,
        "target_entity": {"id": "signup", "type": "events"},
        "returning_entity": {"id": "view", "type": "events"},
    }
    assert counts(retention(filt, world(events))) == [[0, 0, 0, 0], [0, 0, 0], [1, 0], [0]]


def test_a2_returning_defaults_to_target_and_target_to_pageview():
    # A2: target defaults to $pageview; returning defaults to target.
    events = [
        ev("p1", "2020-06-10T10:00:00Z", event="signup"),
        ev("p1", "2020-06-11T10:00:00Z", event="signup"),
        ev("p2", "2020-06-10T10:00:00Z"),
    ]
    assert counts(retention(DAY4, world(events)))[0] == [1, 0, 0, 0]
    filt = {**DAY4, "target_entity": {"id": "signup", "type": "events"}}
    assert actors(retention(filt, world(events)))[0][:2] == [{"p1"}, {"p1"}]


def test_a2_null_event_id_means_any_event():
    # A2: `id: null` with type events matches every event.
    events = [ev("p1", "2020-06-10T10:00:00Z", event="a"), ev("p1", "2020-06-11T10:00:00Z", "b")]
    filt = {**DAY4, "target_entity": {"id": None, "type": "events"}}
    assert counts(retention(filt, world(events)))[0] == [1, 1, 0, 0]


def test_a2_entity_as_json_string_and_actions():
    # A2: entities may be JSON strings; type actions matches the action's steps.
    events = [
        ev("p1", "2020-06-10T10:00:00Z", event="signup"),
        ev("p1", "2020-06-11T10:00:00Z", event="login"),
    ]
    w = world(events)
    w.actions[7] = Action(id=7, name="active", steps=[{"event": "signup"}, {"event": "login"}])
    filt = {
        **DAY4,
        "target_entity": '{"id": "signup", "type": "events"}',
        "returning_entity": {"id": "7", "type": "actions"},
    }
    assert counts(retention(filt, w))[0] == [1, 1, 0, 0]


def test_a2_properties_apply_to_both_sides():
    # A2: `properties` filter both target and returning events.
    events = [
        ev("p1", "2020-06-10T10:00:00Z", props={"plan": "pro"}),
        ev("p1", "2020-06-11T10:00:00Z", props={"plan": "free"}),
        ev("p1", "2020-06-12T10:00:00Z", props={"plan": "pro"}),
    ]
    filt = {**DAY4, "properties": [{"key": "plan", "value": "pro", "type": "event"}]}
    assert counts(retention(filt, world(events))) == [[1, 0, 1, 0], [0, 0, 0], [1, 0], [0]]


def test_a2_filter_test_accounts_both_sides():
    # A2: filter_test_accounts adds the team's test_account_filters to both sides.
    test_filters = [
        {"key": "email", "value": "posthog.com", "operator": "not_icontains", "type": "person"}
    ]
    events = [
        ev("real", "2020-06-10T10:00:00Z", person_props={"email": "a@example.com"}),
        ev("real", "2020-06-11T10:00:00Z", person_props={"email": "a@example.com"}),
        ev("staff", "2020-06-10T10:00:00Z", person_props={"email": "me@posthog.com"}),
    ]
    w = world(events, test_account_filters=test_filters)
    assert counts(retention(DAY4, w))[0] == [2, 1, 0, 0]
    filt = {**DAY4, "filter_test_accounts": True}
    assert actors(retention(filt, w))[0][:2] == [{"real"}, {"real"}]


def test_identity_all_distinct_ids_are_one_person():
    # Conventions: person1 and alias1 belong to one person.
    events = [
        ev("person", "2020-06-10T10:00:00Z", distinct_id="person1"),
        ev("person", "2020-06-11T10:00:00Z", distinct_id="alias1"),
    ]
    assert counts(retention(DAY4, world(events)))[0] == [1, 1, 0, 0]


def test_a2_aggregation_by_group():
    # A2: aggregate by group key; events without one are not counted.
    events = [
        ev("p1", "2020-06-10T10:00:00Z", groups={0: "org1"}),
        ev("p2", "2020-06-10T11:00:00Z", groups={0: "org1"}),
        ev("p2", "2020-06-11T11:00:00Z", groups={0: "org1"}),
        ev("p3", "2020-06-10T11:00:00Z"),
        ev("p4", "2020-06-10T11:00:00Z", groups={0: ""}),
        ev("p5", "2020-06-10T11:00:00Z", groups={1: "other-type"}),
    ]
    filt = {**DAY4, "aggregation_group_type_index": 0}
    result = retention(filt, world(events))
    assert actors(result)[0][:2] == [{"org1"}, {"org1"}]


def test_readme_line_graph_recurring_same_as_table():
    # README: ActionsLineGraph + recurring is the same as the table display.
    filt = {**DAY4, "display": "ActionsLineGraph"}
    assert counts(retention(filt, world(BASIC))) == counts(retention(DAY4, world(BASIC)))


# ------------------------------------------------------------------------------------------
# A5: response shape
# ------------------------------------------------------------------------------------------


def test_a5_triangle_zero_filled_cells():
    # A5: N rows, row c has N-c cells; zero cells are {"count": 0, "people": []}.
    result = retention(DAY4, world([]))
    assert [len(row["values"]) for row in result] == [4, 3, 2, 1]
    assert all(
        cell["count"] == 0 and cell["people"] == [] and "people_url" not in cell
        for row in result
        for cell in row["values"]
    )
    assert "breakdown_values" not in result[0]


# ------------------------------------------------------------------------------------------
# A6: breakdowns
# ------------------------------------------------------------------------------------------

BREAKDOWN_EVENTS = [
    ev("p1", "2020-06-10T10:00:00Z", props={"browser": "Chrome", "os": "Mac"}),
    ev("p1", "2020-06-11T10:00:00Z", props={"browser": "Safari", "os": "Mac"}),
    ev("p2", "2020-06-10T10:00:00Z", props={"browser": "Chrome"}),
    ev("p3", "2020-06-11T10:00:00Z"),
]
DAY3 = {"period": "Day", "total_intervals": 3, "date_to": "2020-06-12"}


def test_a6_event_breakdown_recurring():
    # A6: the breakdown value replaces the cohort index; N cells per row; no date; missing
    # property -> "".
    filt = {
        **DAY3,
        "breakdowns": [{"type": "event", "property": "browser"}],
        "breakdown_type": "event",
    }
    result = retention(filt, world(BREAKDOWN_EVENTS))
    by_label = {row["label"]: row for row in result}
    assert set(by_label) == {"Chrome", "Safari", ""}
    assert counts([by_label["Chrome"]]) == [[2, 1, 0]]
    assert counts([by_label["Safari"]]) == [[1, 0, 0]]
    assert counts([by_label[""]]) == [[1, 0, 0]]
    assert by_label[""]["breakdown_values"] == [""]
    assert all("date" not in row for row in result)


def test_a6_first_time_value_from_earliest_target_event():
    # A6: in first-time mode the value comes from the earliest target event.
    filt = {
        **DAY3,
        "retention_type": "retention_first_time",
        "breakdowns": [{"type": "event", "property": "browser"}],
        "breakdown_type": "event",
    }
    result = retention(filt, world(BREAKDOWN_EVENTS))
    assert {row["label"]: counts([row])[0] for row in result} == {
        "Chrome": [2, 1, 0],
        "": [1, 0, 0],
    }


def test_a6_several_properties_joined_label():
    # A6: label is "::".join(values); breakdown_type is used for every property.
    filt = {
        **DAY3,
        "breakdowns": [
            {"type": "event", "property": "browser"},
            {"type": "person", "property": "os"},
        ],
        "breakdown_type": "event",
    }
    result = retention(filt, world(BREAKDOWN_EVENTS))
    assert {row["label"] for row in result} == {"Chrome::Mac", "Safari::Mac", "Chrome::", "::"}
    assert next(r for r in result if r["label"] == "Chrome::Mac")["breakdown_values"] == [
        "Chrome",
        "Mac",
    ]


def test_a6_person_breakdown_and_returning_ignores_breakdown():
    # A6: person properties come from the person; the returning relation ignores breakdowns.
    events = [
        ev("p1", "2020-06-10T10:00:00Z", person_props={"plan": "pro"}),
        ev("p1", "2020-06-12T10:00:00Z", event="other", person_props={"plan": "pro"}),
        ev("p2", "2020-06-11T10:00:00Z", person_props={"plan": 2}),
    ]
    filt = {
        **DAY3,
        "returning_entity": {"id": "other", "type": "events"},
        "breakdowns": [{"type": "person", "property": "plan"}],
        "breakdown_type": "person",
    }
    result = retention(filt, world(events))
    assert {row["label"]: counts([row])[0] for row in result} == {
        "pro": [1, 0, 1],
        "2": [1, 0, 0],
    }


def test_a6_counts_distinct_actors_over_cohort_dates():
    # A6: distinct actors per (value, interval), over all cohort dates.
    events = [
        ev("p1", "2020-06-10T10:00:00Z", props={"b": "x"}),
        ev("p1", "2020-06-11T10:00:00Z", props={"b": "x"}),
        ev("p1", "2020-06-12T10:00:00Z", props={"b": "x"}),
    ]
    filt = {**DAY3, "breakdowns": [{"type": "event", "property": "b"}], "breakdown_type": "event"}
    assert counts(retention(filt, world(events))) == [[1, 1, 1]]


def test_a2_breakdown_type_required():
    # A2: breakdown_type is required with breakdowns.
    with pytest.raises(ValueError, match="breakdown_type"):
        retention({**DAY3, "breakdowns": [{"type": "event", "property": "b"}]}, world([]))


# ------------------------------------------------------------------------------------------
# A7: people
# ------------------------------------------------------------------------------------------


def test_a7_appearances_order_and_cut():
    # A7: appearances per actor; order by appearances desc then id; selected_interval cuts.
    w = world([*BASIC, ev("p3", "2020-06-11T09:00:00Z")])
    people = retention_people({**DAY4, "breakdown_values": "[1]"}, w)
    assert people == [
        {"actor": "p1", "appearances": [1, 0, 1, 0]},
        {"actor": "p2", "appearances": [1, 1, 0, 0]},
        {"actor": "p3", "appearances": [1, 0, 0, 0]},
    ]
    cut = retention_people({**DAY4, "breakdown_values": [1], "selected_interval": 2}, w)
    assert cut == [
        {"actor": "p2", "appearances": [1, 1]},
        {"actor": "p1", "appearances": [1, 0]},
        {"actor": "p3", "appearances": [1, 0]},
    ]
    # Without breakdown_values the cohort is selected_interval, unfiltered by period.
    assert retention_people({**DAY4, "selected_interval": 0}, w) == [
        {"actor": "p1", "appearances": [1, 1, 0, 1]}
    ]
    assert retention_people({**DAY4, "breakdown_values": [1], "limit": 1, "offset": 1}, w) == [
        {"actor": "p2", "appearances": [1, 1, 0, 0]}
    ]


def test_a7_breakdown_people():
    filt = {
        **DAY3,
        "breakdowns": [{"type": "event", "property": "browser"}],
        "breakdown_type": "event",
        "breakdown_values": ["Chrome"],
    }
    assert retention_people(filt, world(BREAKDOWN_EVENTS)) == [
        {"actor": "p1", "appearances": [1, 1, 0]},
        {"actor": "p2", "appearances": [1, 0, 0]},
    ]


# ------------------------------------------------------------------------------------------
# Validation (A1, A2)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["day", "Minute", "Year", "WEEK"])
def test_a2_unknown_period(period):
    with pytest.raises(ValueError, match="period"):
        retention({"period": period}, world([]))


@pytest.mark.parametrize("value", [0, -1, 101, "abc", 2.5, True])
def test_total_intervals_limits(value):
    # Our choice: 1 <= total_intervals <= 100 (PostHog documents no upper bound).
    with pytest.raises(ValueError, match="total_intervals"):
        retention({"total_intervals": value}, world([]))


def test_a2_total_intervals_string_accepted():
    assert len(retention({"total_intervals": "5", "date_to": "2020-06-20"}, world([]))) == 5


def test_readme_unknown_action_names_the_field():
    with pytest.raises(ValueError, match="returning_entity"):
        retention({"returning_entity": {"id": 99, "type": "actions"}}, world([]))


# ------------------------------------------------------------------------------------------
# DST and period boundaries (A3.6: periods are computed in team tz)
# ------------------------------------------------------------------------------------------


def test_dst_day_spring_forward_new_york():
    # 2020-03-08 is 23 hours long in New York; local days are the periods.
    events = [
        ev("p1", "2020-03-07T04:30:00Z"),  # 3/6 23:30 EST -> period 0
        ev("p1", "2020-03-09T03:30:00Z"),  # 3/8 23:30 EDT -> period 2
        ev("p2", "2020-03-06T04:59:00Z"),  # 3/5 23:59 EST -> before the window
        ev("p3", "2020-03-09T04:00:00Z"),  # exactly DATE_TO -> period 3, not shown
    ]
    w = world(events, timezone="America/New_York")
    filt = {"period": "Day", "total_intervals": 3, "date_to": "2020-03-08"}
    window = retention_window(filt, w)
    assert window.date_from == at("2020-03-06T05:00:00Z")
    assert window.date_to == at("2020-03-09T04:00:00Z")
    result = retention(filt, w)
    assert [row["date"] for row in result] == [
        "2020-03-06T00:00:00-05:00",
        "2020-03-07T00:00:00-05:00",
        "2020-03-08T00:00:00-05:00",  # the change happens at 02:00
    ]
    assert actors(result) == [[{"p1"}, set(), {"p1"}], [set(), set()], [{"p1"}]]


def test_dst_hour_fall_back_new_york():
    # 2020-11-01: 01:00-02:00 happens twice in New York; they are two hourly periods.
    events = [ev("p1", "2020-11-01T05:30:00Z"), ev("p1", "2020-11-01T06:30:00Z")]
    w = world(events, timezone="America/New_York")
    filt = {"period": "Hour", "total_intervals": 3, "date_to": "2020-11-01T06:10:00+00:00"}
    result = retention(filt, w)
    assert [row["date"] for row in result] == [
        "2020-11-01T00:00:00-04:00",
        "2020-11-01T01:00:00-04:00",
        "2020-11-01T01:00:00-05:00",
    ]
    assert counts(result) == [[0, 0, 0], [1, 1], [1]]


def test_dst_hour_spring_forward_new_york():
    # 2020-03-08: 01:00 EST is followed by 03:00 EDT; consecutive periods.
    events = [ev("p1", "2020-03-08T06:30:00Z"), ev("p1", "2020-03-08T07:30:00Z")]
    w = world(events, timezone="America/New_York")
    filt = {"period": "Hour", "total_intervals": 2, "date_to": "2020-03-08T03:10:00"}
    result = retention(filt, w)
    assert [row["date"] for row in result] == [
        "2020-03-08T01:00:00-05:00",
        "2020-03-08T03:00:00-04:00",
    ]
    assert counts(result) == [[1, 1], [1]]


def test_dst_week_spanning_change_in_berlin():
    # 2020-03-29 (a Sunday) is 23 hours long in Berlin; Monday weeks still start at local 00:00.
    events = [ev("p1", "2020-03-29T22:30:00Z"), ev("p1", "2020-03-29T21:30:00Z")]
    w = world(events, timezone="Europe/Berlin", week_start_day=1)
    filt = {"period": "Week", "total_intervals": 2, "date_to": "2020-03-30"}
    result = retention(filt, w)
    assert [row["date"] for row in result] == [
        "2020-03-23T00:00:00+01:00",
        "2020-03-30T00:00:00+02:00",
    ]
    # 21:30Z is Sunday 23:30 (week 0); 22:30Z is Monday 00:30 (week 1).
    assert counts(result) == [[1, 1], [1]]


def test_dst_day_without_midnight_sao_paulo():
    # 2018-11-04 starts at 01:00 in Sao Paulo (DST began at midnight): the period starts there.
    events = [ev("p1", "2018-11-04T03:00:00Z"), ev("p1", "2018-11-05T02:30:00Z")]
    w = world(events, timezone="America/Sao_Paulo")
    filt = {"period": "Day", "total_intervals": 2, "date_to": "2018-11-05"}
    result = retention(filt, w)
    assert [row["date"] for row in result] == [
        "2018-11-04T01:00:00-02:00",
        "2018-11-05T00:00:00-02:00",
    ]
    assert counts(result) == [[1, 1], [1]]


def test_first_time_breakdown_tie_takes_smallest_value():
    # Our choice for A6 ties: earliest events sharing a timestamp -> the smallest value.
    events = [
        ev("p1", "2020-06-10T10:00:00Z", props={"b": "zeta"}),
        ev("p1", "2020-06-10T10:00:00Z", props={"b": "alpha"}),
    ]
    filt = {
        **DAY3,
        "retention_type": "retention_first_time",
        "breakdowns": [{"type": "event", "property": "b"}],
        "breakdown_type": "event",
    }
    assert [row["label"] for row in retention(filt, world(events))] == ["alpha"]


def test_week_start_day_boundaries():
    # A3.3/A3.6: Sunday 6/14 and Monday 6/15 share a Sunday week but not a Monday week.
    events = [ev("p1", "2020-06-14T12:00:00Z"), ev("p1", "2020-06-15T12:00:00Z")]
    filt = {"period": "Week", "total_intervals": 2, "date_to": "2020-06-20"}
    assert counts(retention(filt, world(events, week_start_day=0))) == [[0, 0], [1]]
    assert counts(retention(filt, world(events, week_start_day=1))) == [[1, 1], [1]]


def test_day_boundary_in_team_tz():
    # A3.6: an event at 2020-06-11T02:00Z is still 6/10 in Los Angeles.
    events = [ev("p1", "2020-06-10T12:00:00Z"), ev("p1", "2020-06-11T02:00:00Z")]
    filt = {"period": "Day", "total_intervals": 2, "date_to": "2020-06-11"}
    assert counts(retention(filt, world(events, timezone="America/Los_Angeles"))) == [[1, 0], [0]]
    assert counts(retention(filt, world(events))) == [[1, 1], [1]]


def test_unparsable_date_to_names_the_field():
    with pytest.raises(ValueError, match="date_to"):
        retention({"date_to": "yesterday-ish"}, world([]))


def test_parse_date_param_relative_forms():
    # trends.md 3.1 relative strings, as used by date_to (A2).
    now = at("2020-03-31T15:20:00Z")
    assert parse_date_param("-1mStart", "UTC", now) == at("2020-02-01T00:00:00Z")
    assert parse_date_param("-1mEnd", "UTC", now) == at("2020-02-29T23:59:59.999999Z")
    assert parse_date_param("dStart", "UTC", now) == at("2020-03-31T00:00:00Z")
    assert parse_date_param("-2h", "UTC", now) == at("2020-03-31T13:20:00Z")
    assert parse_date_param("-1m", "UTC", now) == at("2020-02-29T15:20:00Z")
    assert parse_date_param("2020-3-5", "UTC", now) == at("2020-03-05T00:00:00Z")
