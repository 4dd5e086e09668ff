"""Example tests for the paths oracle; each cites the rule of retention_paths.md part B that it
reproduces."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from tests.oracles.model import Event, Project, World
from tests.oracles.paths import paths, paths_people, session_paths

_uuids = itertools.count()
T0 = datetime.fromisoformat("2012-01-01T03:21:34+00:00")
ONE_MINUTE = 60_000.0
BASE = {"date_from": "2012-01-01", "date_to": "2012-01-07"}


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def ev(
    person: str, event: str, when: float | datetime, props: dict | None = None, **extra
) -> Event:
    """`when` is minutes after T0, or an exact datetime."""
    return Event(
        uuid=f"u{next(_uuids)}",
        event=event,
        distinct_id=extra.get("distinct_id", person),
        person_id=person,
        timestamp=when if isinstance(when, datetime) else T0 + timedelta(minutes=when),
        properties=props or {},
        person_properties=extra.get("person_props", {}),
    )


def pv(person: str, url: str | None, when: float | datetime, **extra) -> Event:
    return ev(person, "$pageview", when, {"$current_url": url}, **extra)


def screen(person: str, name: str, minutes: float) -> Event:
    return ev(person, "$screen", minutes, {"$screen_name": name})


def world(events: list[Event], **project) -> World:
    return World(
        events=events,
        project=Project(**project),
        now=datetime.fromisoformat("2012-01-08T00:00:00+00:00"),
    )


def edges(result: list[dict]) -> list[tuple[str, str, int]]:
    return [(edge["source"], edge["target"], edge["value"]) for edge in result]


def journey(person: str, urls: list[str], start: float = 0, step: float = 1) -> list[Event]:
    return [pv(person, url, start + i * step) for i, url in enumerate(urls)]


# ------------------------------------------------------------------------------------------
# B1, B3, B6: edges
# ------------------------------------------------------------------------------------------


def test_b3_b6_basic_edges_and_average_time():
    # B3.6-7 node keys and transitions; B6 value and mean conversion time in ms; B6 order.
    events = [
        pv("p1", "/1", 0),
        pv("p1", "/2", 1),
        pv("p1", "/3", 3),
        pv("p2", "/1", 0),
        pv("p2", "/2", 2),
    ]
    result = paths({**BASE, "include_event_types": ["$pageview"]}, world(events))
    assert result == [
        {
            "source": "1_/1",
            "target": "2_/2",
            "value": 2,
            "average_conversion_time": 1.5 * ONE_MINUTE,
        },
        {"source": "2_/2", "target": "3_/3", "value": 1, "average_conversion_time": 2 * ONE_MINUTE},
    ]


def test_b6_order_value_then_source_then_target():
    events = [
        *journey("p1", ["/b", "/y"]),
        *journey("p2", ["/a", "/z"]),
        *journey("p3", ["/a", "/y"]),
        *journey("p4", ["/c", "/x"]),
        *journey("p5", ["/c", "/x"]),
    ]
    assert edges(paths(BASE, world(events))) == [
        ("1_/c", "2_/x", 2),
        ("1_/a", "2_/y", 1),
        ("1_/a", "2_/z", 1),
        ("1_/b", "2_/y", 1),
    ]


def test_b6_value_counts_sessions_not_people():
    # B6: a person with two sessions that both contain the edge counts 2.
    events = [*journey("p1", ["/1", "/2"]), *journey("p1", ["/1", "/2"], start=60)]
    assert edges(paths(BASE, world(events))) == [("1_/1", "2_/2", 2)]


def test_b6_empty_result():
    assert paths(BASE, world([])) == []


def test_identity_distinct_ids_form_one_path():
    # B3.1: all of a person's distinct_ids count as one person.
    events = [pv("p", "/1", 0, distinct_id="person1"), pv("p", "/2", 1, distinct_id="alias1")]
    assert edges(paths(BASE, world(events))) == [("1_/1", "2_/2", 1)]


# ------------------------------------------------------------------------------------------
# B2: event types and path items
# ------------------------------------------------------------------------------------------

MIXED = [
    pv("p1", "/1", 0),
    screen("p1", "/screen1", 1),
    ev("p1", "/custom1", 2),
    pv("p1", "/2", 3),
    ev("p1", "$autocapture", 4),
]


def test_b2_no_types_means_all_events():
    # B2: empty include_event_types and include_custom_events -> every event; pageviews use the
    # URL, screens the screen name, other events their name.
    assert edges(paths(BASE, world(MIXED))) == [
        ("1_/1", "2_/screen1", 1),
        ("2_/screen1", "3_/custom1", 1),
        ("3_/custom1", "4_/2", 1),
        ("4_/2", "5_$autocapture", 1),
    ]


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (["$pageview"], [("1_/1", "2_/2", 1)]),
        (["$screen"], []),
        (["custom_event"], []),
        (["$pageview", "custom_event"], [("1_/1", "2_/custom1", 1), ("2_/custom1", "3_/2", 1)]),
        (["$screen", "$pageview"], [("1_/1", "2_/screen1", 1), ("2_/screen1", "3_/2", 1)]),
    ],
)
def test_b2_include_event_types(types, expected):
    assert edges(paths({**BASE, "include_event_types": types}, world(MIXED))) == expected


def test_b2_include_event_types_as_json_string_and_legacy_path_type():
    # B2: JSON string accepted; B1: path_type replaces include_event_types.
    filt = {**BASE, "include_event_types": '["$pageview"]'}
    assert edges(paths(filt, world(MIXED))) == [("1_/1", "2_/2", 1)]
    filt = {**BASE, "include_event_types": ["$pageview"], "path_type": "$screen"}
    assert paths(filt, world(MIXED)) == []


def test_b2_include_custom_events():
    # B2: event IN list, OR-ed with the types.
    filt = {**BASE, "include_event_types": ["$pageview"], "include_custom_events": ["/custom1"]}
    assert edges(paths(filt, world(MIXED))) == [
        ("1_/1", "2_/custom1", 1),
        ("2_/custom1", "3_/2", 1),
    ]
    only = {**BASE, "include_custom_events": '["$autocapture", "/custom1"]'}
    assert edges(paths(only, world(MIXED))) == [("1_/custom1", "2_$autocapture", 1)]


def test_b2_custom_event_with_specific_custom_events_is_an_error():
    filt = {**BASE, "include_event_types": ["custom_event"], "include_custom_events": ["x"]}
    with pytest.raises(ValueError, match="Cannot include all custom events"):
        paths(filt, world([]))


def test_readme_hogql_path_type_refused():
    # README: expression-language path types are refused, naming the field.
    with pytest.raises(ValueError, match="include_event_types"):
        paths({**BASE, "include_event_types": ["hogql"]}, world([]))
    with pytest.raises(ValueError, match="paths_hogql_expression"):
        paths({**BASE, "paths_hogql_expression": "properties.x"}, world([]))


def test_b2_rule_3_one_trailing_slash_removed_and_null_url():
    # B2 rule 3: regex `(.)/$` -> one trailing `/` removed, `/` alone stays; null URL -> ''.
    events = [
        pv("p1", "/", 0),
        pv("p1", "/about/", 1),
        pv("p1", "/x//", 2),
        pv("p1", None, 3),
    ]
    assert edges(paths({**BASE, "include_event_types": ["$pageview"]}, world(events))) == [
        ("1_/", "2_/about", 1),
        ("2_/about", "3_/x/", 1),
        ("3_/x/", "4_", 1),
    ]


def test_b2_rules_3_4_with_no_types_and_pageview_excluded():
    # B2 rule 3: with no types, pageviews keep their event name when `$pageview` is excluded,
    # and are then removed by exclude_events.
    events = [pv("p1", "/1", 0), ev("p1", "a", 1), ev("p1", "b", 2)]
    assert edges(paths({**BASE, "exclude_events": ["$pageview"]}, world(events))) == [
        ("1_a", "2_b", 1)
    ]


# ------------------------------------------------------------------------------------------
# B3: sessions and duplicates
# ------------------------------------------------------------------------------------------


def test_b3_gap_of_exactly_30_minutes_splits():
    # B3.3: a new session starts when the gap is at least 30 minutes.
    events = [pv("p1", "/1", 0), pv("p1", "/2", 30), pv("p1", "/3", 30 + 29.99)]
    assert edges(paths(BASE, world(events))) == [("1_/2", "2_/3", 1)]


def test_b3_gap_just_under_30_minutes_does_not_split():
    events = [pv("p1", "/1", 0), pv("p1", "/2", 29 + 59 / 60)]
    assert edges(paths(BASE, world(events))) == [("1_/1", "2_/2", 1)]


def test_b3_new_day_alone_does_not_split():
    # B3.3: 23:50 -> 00:10 the next day is one session.
    midnight = datetime.fromisoformat("2012-01-02T00:00:00+00:00")
    events = [
        pv("p1", "/1", midnight - timedelta(minutes=10)),
        pv("p1", "/2", midnight + timedelta(minutes=10)),
    ]
    assert edges(paths(BASE, world(events))) == [("1_/1", "2_/2", 1)]


def test_b3_collapse_duplicates_takes_last_timestamp():
    # B3.4: A(t0) A(t1) B(t3) -> A(t1) B(t3): conversion time t3 - t1.
    events = [pv("p1", "/a", 0), pv("p1", "/a", 1), pv("p1", "/b", 3)]
    result = paths(BASE, world(events))
    assert result == [
        {"source": "1_/a", "target": "2_/b", "value": 1, "average_conversion_time": 2 * ONE_MINUTE}
    ]


def test_b3_session_split_uses_kept_events_only():
    # B2/B3.3: excluded events are removed before the split, so they do not bridge a gap.
    events = [pv("p1", "/1", 0), pv("p1", "/x", 20), pv("p1", "/2", 40)]
    assert paths({**BASE, "exclude_events": ["/x"]}, world(events)) == []
    assert edges(paths(BASE, world(events))) == [("1_/1", "2_/x", 1), ("2_/x", "3_/2", 1)]


def test_b2_exclude_before_dedup():
    # B2: exclusion happens before duplicates collapse: /a /x /a -> one /a node.
    events = [pv("p1", "/a", 0), pv("p1", "/x", 1), pv("p1", "/a", 2), pv("p1", "/b", 3)]
    result = paths({**BASE, "exclude_events": ["/x"]}, world(events))
    assert result == [
        {"source": "1_/a", "target": "2_/b", "value": 1, "average_conversion_time": ONE_MINUTE}
    ]


def test_b3_step_limit_keeps_first_nodes():
    # B3.5: no point -> the first step_limit nodes (default 5).
    events = journey("p1", ["/1", "/2", "/3", "/4", "/5", "/6", "/7"])
    assert len(paths(BASE, world(events))) == 4
    assert edges(paths({**BASE, "step_limit": 3}, world(events))) == [
        ("1_/1", "2_/2", 1),
        ("2_/2", "3_/3", 1),
    ]


def test_same_timestamp_ordered_by_item():
    # Our choice: events of one person with equal timestamps are ordered by their item.
    events = [pv("p1", "/b", 0), pv("p1", "/a", 0), pv("p1", "/c", 1)]
    assert edges(paths(BASE, world(events))) == [("1_/a", "2_/b", 1), ("2_/b", "3_/c", 1)]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"step_limit": 0}, "step_limit"),
        ({"edge_limit": "x"}, "edge_limit"),
        ({"local_path_cleaning_filters": [{"regex": "(", "alias": ""}]}, "local_path_cleaning"),
        ({"include_event_types": ["$autocapture"]}, "include_event_types"),
        ({"funnel_paths": "funnel_path_sideways"}, "funnel_paths"),
        ({"date_to": "soon"}, "date_to"),
    ],
)
def test_validation_names_the_field(extra, field):
    with pytest.raises(ValueError, match=field):
        paths({**BASE, **extra}, world([]))


def test_b3_dropoff_key_and_session_paths():
    # B3.8: dropoff key "<length>_<last item>".
    events = journey("p1", ["/1", "/2", "/3"])
    (path,) = session_paths(BASE, world(events))["p1"]
    assert [node.item for node in path] == ["/1", "/2", "/3"]
    assert paths_people({**BASE, "path_dropoff_key": "3_/3"}, world(events)) == ["p1"]


# ------------------------------------------------------------------------------------------
# B4: cleaning and groupings
# ------------------------------------------------------------------------------------------


def test_b4_team_cleaning_only_with_path_replacements():
    team_rules = [{"regex": r"/user/\d+", "alias": "/user/<id>"}]
    events = [pv("p1", "/user/1", 0), pv("p1", "/user/2", 1), pv("p1", "/home", 2)]
    w = world(events, path_cleaning_filters=team_rules)
    assert edges(paths(BASE, w)) == [("1_/user/1", "2_/user/2", 1), ("2_/user/2", "3_/home", 1)]
    # Cleaned items collapse as duplicates (cleaning happens before dedup).
    assert edges(paths({**BASE, "path_replacements": "true"}, w)) == [
        ("1_/user/<id>", "2_/home", 1)
    ]


def test_b4_team_rules_then_local_rules_with_group_reference():
    team_rules = [{"regex": "/a", "alias": "/b"}]
    local_rules = [{"regex": r"/b(\d)", "alias": r"/c\1"}]
    events = [pv("p1", "/a1", 0), ev("p1", "evt/a2", 1)]
    w = world(events, path_cleaning_filters=team_rules)
    filt = {**BASE, "path_replacements": True, "local_path_cleaning_filters": local_rules}
    # Rules apply to every kind of item, custom event names included.
    assert edges(paths(filt, w)) == [("1_/c1", "2_evt/c2", 1)]
    filt = {**BASE, "local_path_cleaning_filters": local_rules}
    assert edges(paths(filt, w)) == [("1_/a1", "2_evt/a2", 1)]


def test_b4_grouping_unanchored_wildcard_replaced_by_pattern():
    # B4: `/bar/*/foo` matches `/2/bar/1/foo` (substring); the node is the pattern text.
    events = journey("p1", ["/1", "/2/bar/1/foo", "/bar/33/foo", "/3"])
    filt = {**BASE, "path_groupings": ["/bar/*/foo"]}
    assert edges(paths(filt, world(events))) == [
        ("1_/1", "2_/bar/*/foo", 1),
        ("2_/bar/*/foo", "3_/3", 1),
    ]


def test_b4_grouping_escapes_regex_characters():
    # B4: only `*` is special; `(a+)+` is literal.
    events = journey("p1", ["/x(a+)+y", "/aaa"])
    filt = {**BASE, "path_groupings": ["(a+)+"]}
    assert edges(paths(filt, world(events))) == [("1_(a+)+", "2_/aaa", 1)]


def test_b4_first_matching_grouping_wins():
    # B4 / open question 4: several patterns match; we choose the first in list order.
    events = journey("p1", ["/1", "/2/3?q=1"])
    filt = {**BASE, "path_groupings": ["/3*", "/3?q=1"]}
    assert edges(paths(filt, world(events))) == [("1_/1", "2_/3*", 1)]


def test_b2_exclude_by_grouping_pattern():
    # B2: an exclude entry may be a grouping pattern (the final item).
    events = [
        *journey("p1", ["/1", "/bar/1/foo", "/3"]),
        *journey("p2", ["/1", "/bar/2/foo", "/3"]),
        *journey("p3", ["/1", "/bar/33/foo", "/3"], step=1.5),
    ]
    filt = {
        **BASE,
        "include_event_types": ["$pageview"],
        "exclude_events": ["/bar/*/foo"],
        "path_groupings": ["/bar/*/foo"],
    }
    result = paths(filt, world(events))
    assert edges(result) == [("1_/1", "2_/3", 3)]
    assert result[0]["average_conversion_time"] == pytest.approx((2 + 2 + 3) / 3 * ONE_MINUTE)


# ------------------------------------------------------------------------------------------
# B5: start and end points
# ------------------------------------------------------------------------------------------

LONG = journey("p1", ["/1", "/2", "/3", "/4", "/5", "/about", "/after"])


def test_b5_start_point_from_first_occurrence_and_trailing_slash():
    events = [*LONG, *journey("p2", ["/1", "/3"])]  # p2 never hits /2: dropped
    filt = {**BASE, "start_point": "/2/", "step_limit": 3}
    assert edges(paths(filt, world(events))) == [("1_/2", "2_/3", 1), ("2_/3", "3_/4", 1)]


def test_b5_end_point_keeps_last_step_limit_nodes():
    events = [*LONG, *journey("p2", ["/1", "/3"])]
    filt = {**BASE, "end_point": "/about/", "step_limit": 3}
    assert edges(paths(filt, world(events))) == [("1_/4", "2_/5", 1), ("2_/5", "3_/about", 1)]


def test_b5_end_point_first_occurrence():
    events = journey("p1", ["/1", "/end", "/2", "/end"])
    assert edges(paths({**BASE, "end_point": "/end"}, world(events))) == [("1_/1", "2_/end", 1)]


def test_b5_both_points_step_limit_4_example():
    # B5 test: step_limit=4 gives 1_/2, 2_/3, 3_..., 4_/5, 5_/about; "..." takes the timestamp
    # of the first dropped element (/4, minute 3).
    filt = {**BASE, "start_point": "/2", "end_point": "/about/", "step_limit": 4}
    result = paths(filt, world(LONG))
    assert [(e["source"], e["target"]) for e in result] == [
        ("1_/2", "2_/3"),
        ("2_/3", "3_..."),
        ("3_...", "4_/5"),
        ("4_/5", "5_/about"),
    ]
    times = {(e["source"], e["target"]): e["average_conversion_time"] for e in result}
    assert times[("2_/3", "3_...")] == ONE_MINUTE
    assert times[("3_...", "4_/5")] == ONE_MINUTE


def test_b5_both_points_need_both():
    events = [*journey("p1", ["/2", "/3"]), *journey("p2", ["/3", "/about"])]
    assert paths({**BASE, "start_point": "/2", "end_point": "/about"}, world(events)) == []


def test_b5_both_points_disable_default_edge_limit():
    # B2/B5: no default edge limit with both points (60 distinct edges here).
    events = []
    for i in range(60):
        events += journey(f"p{i:02d}", ["/start", f"/mid{i:02d}", "/end"])
    both = {**BASE, "start_point": "/start", "end_point": "/end"}
    assert len(paths(both, world(events))) == 120
    assert len(paths({**BASE, "start_point": "/start"}, world(events))) == 50


# ------------------------------------------------------------------------------------------
# B6: limits and pruning
# ------------------------------------------------------------------------------------------

PRUNE = [
    *journey("a", ["/a", "/x", "/y"]),
    *journey("b", ["/b", "/x", "/y"]),
]


def test_b6_pruning_drops_edges_unreachable_from_first_step():
    # Sorted: (2_/x -> 3_/y, 2), (1_/a -> 2_/x, 1), (1_/b -> 2_/x, 1). With limit 1 only the
    # child edge is left; its source cannot be reached from a 1_ node.
    assert paths({**BASE, "edge_limit": 1}, world(PRUNE)) == []
    assert edges(paths({**BASE, "edge_limit": 2}, world(PRUNE))) == [
        ("2_/x", "3_/y", 2),
        ("1_/a", "2_/x", 1),
    ]


def test_b6_edge_weights_filter_and_turn_off_pruning():
    assert edges(paths({**BASE, "edge_limit": 1, "min_edge_weight": 1}, world(PRUNE))) == [
        ("2_/x", "3_/y", 2)
    ]
    assert edges(paths({**BASE, "min_edge_weight": 2}, world(PRUNE))) == [("2_/x", "3_/y", 2)]
    assert edges(paths({**BASE, "max_edge_weight": 1}, world(PRUNE))) == [
        ("1_/a", "2_/x", 1),
        ("1_/b", "2_/x", 1),
    ]


def test_b2_max_below_min_is_an_error():
    with pytest.raises(ValueError, match="max_edge_weight"):
        paths({**BASE, "min_edge_weight": 3, "max_edge_weight": 2}, world([]))


# ------------------------------------------------------------------------------------------
# B2: dates, properties
# ------------------------------------------------------------------------------------------


def test_b2_date_only_date_to_is_end_of_day_and_bounds_inclusive():
    # B2: date-only date_to is 23:59:59.999999 of that day; both bounds inclusive.
    start = datetime.fromisoformat("2012-01-01T00:00:00+00:00")
    end = datetime.fromisoformat("2012-01-01T23:59:59.999999+00:00")
    events = [
        pv("p1", "/a", start),
        pv("p1", "/b", start + timedelta(minutes=1)),
        pv("p2", "/c", end - timedelta(minutes=1)),
        pv("p2", "/d", end),
    ]
    filt = {"date_from": "2012-01-01", "date_to": "2012-01-01"}
    assert edges(paths(filt, world(events))) == [("1_/a", "2_/b", 1), ("1_/c", "2_/d", 1)]
    filt = {"date_from": "2012-01-01 00:00:01", "date_to": "2012-01-01 23:59:00"}
    assert paths(filt, world(events)) == []


def test_b2_default_date_from_is_seven_days_before_today():
    # now is 2012-01-08 00:00: date_from = 2012-01-01 00:00.
    before = datetime.fromisoformat("2011-12-31T23:59:00+00:00")
    events = [
        pv("p1", "/old", before),
        pv("p1", "/1", before + timedelta(minutes=2)),
        pv("p1", "/2", before + timedelta(minutes=3)),
    ]
    assert edges(paths({}, world(events))) == [("1_/1", "2_/2", 1)]


def test_b2_properties_and_test_accounts():
    events = [
        pv("p1", "/1", 0, person_props={"email": "a@example.com"}),
        pv("p1", "/2", 1, person_props={"email": "a@example.com"}),
        pv("p2", "/1", 0, person_props={"email": "me@posthog.com"}),
        pv("p2", "/3", 1, person_props={"email": "me@posthog.com"}),
    ]
    test_filters = [
        {"key": "email", "value": "posthog.com", "operator": "not_icontains", "type": "person"}
    ]
    w = world(events, test_account_filters=test_filters)
    assert edges(paths({**BASE, "filter_test_accounts": True}, w)) == [("1_/1", "2_/2", 1)]
    props = [{"key": "email", "value": "posthog", "operator": "icontains", "type": "person"}]
    assert edges(paths({**BASE, "properties": props}, w)) == [("1_/1", "2_/3", 1)]


# ------------------------------------------------------------------------------------------
# B7: funnel paths
# ------------------------------------------------------------------------------------------

FUNNEL = {"events": [{"id": "/signup"}, {"id": "/pay"}], "funnel_window_days": 7}
FUNNEL_EVENTS = [
    *journey("conv", ["/home", "/signup", "/pricing", "/pay", "/thanks"], step=60),
    *journey("drop", ["/home", "/signup", "/docs"], step=60),
]
STEP_TIMES = {
    "conv": [T0 + timedelta(minutes=60), T0 + timedelta(minutes=180)],
    "drop": [T0 + timedelta(minutes=60), None],
}


def test_b7_after_step_with_funnel_window_sessions():
    # B7: events at or after step N; B3.3: gaps of an hour do not split (window is 7 days).
    filt = {
        **BASE,
        "funnel_paths": "funnel_path_after_step",
        "funnel_filter": FUNNEL,
        "funnel_step": 2,
    }
    assert edges(paths(filt, world(FUNNEL_EVENTS), STEP_TIMES)) == [("1_/pay", "2_/thanks", 1)]


def test_b7_before_step_and_dropoff():
    before = {
        **BASE,
        "funnel_paths": "funnel_path_before_step",
        "funnel_filter": FUNNEL,
        "funnel_step": 2,
    }
    assert edges(paths(before, world(FUNNEL_EVENTS), STEP_TIMES)) == [
        ("1_/home", "2_/signup", 1),
        ("2_/signup", "3_/pricing", 1),
        ("3_/pricing", "4_/pay", 1),
    ]
    # Negative step: completed step 1, not step 2; events up to step 1 time + window.
    dropoff = {**before, "funnel_step": -2}
    assert edges(paths(dropoff, world(FUNNEL_EVENTS), STEP_TIMES)) == [
        ("1_/home", "2_/signup", 1),
        ("2_/signup", "3_/docs", 1),
    ]


def test_b7_between_steps():
    filt = {
        **BASE,
        "funnel_paths": "funnel_path_between_steps",
        "funnel_filter": '{"events": [], "funnel_step": 2, "funnel_window_days": 7}',
    }
    assert edges(paths(filt, world(FUNNEL_EVENTS), STEP_TIMES)) == [
        ("1_/signup", "2_/pricing", 1),
        ("2_/pricing", "3_/pay", 1),
    ]


def test_b7_short_funnel_window_splits_sessions():
    funnel = {"events": [], "funnel_window_interval": 1, "funnel_window_interval_unit": "hour"}
    filt = {
        **BASE,
        "funnel_paths": "funnel_path_after_step",
        "funnel_filter": funnel,
        "funnel_step": 1,
    }
    # Every gap is exactly one hour = the window: every event is its own session.
    assert paths(filt, world(FUNNEL_EVENTS), STEP_TIMES) == []


def url_step(url: str) -> dict:
    return {"id": "$pageview", "type": "events", "properties": [
        {"key": "$current_url", "value": url, "operator": "exact", "type": "event"}]}  # fmt: skip


def test_b7_step_times_come_from_the_funnel_oracle():
    # Without step times passed in, the funnel oracle's credited attempts give the same
    # people and times as STEP_TIMES above.
    funnel = {**BASE, "events": [url_step("/signup"), url_step("/pay")], "funnel_window_days": 7}
    for kind in ("funnel_path_after_step", "funnel_path_before_step"):
        for step in (2, -2):
            filt = {**BASE, "funnel_paths": kind, "funnel_filter": funnel, "funnel_step": step}
            w = world(FUNNEL_EVENTS)
            assert paths(filt, w) == paths(filt, w, STEP_TIMES)
    assert paths_people({**BASE, "funnel_paths": "funnel_path_after_step",
                         "funnel_filter": funnel, "funnel_step": -2},
                        world(FUNNEL_EVENTS)) == ["drop"]  # fmt: skip


def test_b7_between_steps_of_a_dropoff_ends_at_the_last_completed_step():
    # -3: reached /pricing (step 2), never /pay; between /signup (step 1) and /pricing.
    funnel = {**BASE, "events": [url_step("/signup"), url_step("/pricing"), url_step("/pay")]}
    events = [*journey("a", ["/home", "/signup", "/docs", "/pricing", "/thanks"], step=60),
              *journey("b", ["/signup", "/pricing", "/pay"], step=60)]  # fmt: skip
    filt = {**BASE, "funnel_paths": "funnel_path_between_steps", "funnel_filter": funnel,
            "funnel_step": -3}  # fmt: skip
    assert edges(paths(filt, world(events))) == [("1_/signup", "2_/docs", 1),
                                                  ("2_/docs", "3_/pricing", 1)]  # fmt: skip


@pytest.mark.parametrize("step", [0, -1, 3, -3])
def test_b7_a_step_the_funnel_lacks_is_an_error(step):
    funnel = {**BASE, "events": [url_step("/signup"), url_step("/pay")]}
    filt = {**BASE, "funnel_paths": "funnel_path_after_step", "funnel_filter": funnel,
            "funnel_step": step}  # fmt: skip
    with pytest.raises(ValueError, match="^funnel_step"):
        paths(filt, world(FUNNEL_EVENTS))


def test_b7_between_steps_needs_a_step_before_the_reference():
    funnel = {**BASE, "events": [url_step("/signup"), url_step("/pay")]}
    for step in (1, -2):
        filt = {**BASE, "funnel_paths": "funnel_path_between_steps", "funnel_filter": funnel,
                "funnel_step": step}  # fmt: skip
        with pytest.raises(ValueError, match="^funnel_step"):
            paths(filt, world(FUNNEL_EVENTS))


# ------------------------------------------------------------------------------------------
# B8: people
# ------------------------------------------------------------------------------------------

PEOPLE = [
    *journey("p1", ["/1", "/2", "/3"]),
    *journey("p2", ["/1", "/2"]),
    *journey("p3", ["/2", "/3"]),
    *journey("p4", ["/9"]),
]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({}, ["p1", "p2", "p3", "p4"]),
        ({"path_end_key": "2_/2"}, ["p1", "p2"]),
        ({"path_end_key": "1_/2"}, ["p3"]),  # a first node has a transition row too
        ({"path_start_key": "2_/2"}, ["p1"]),
        ({"path_start_key": "1_/2", "path_end_key": "2_/3"}, ["p3"]),
        ({"path_dropoff_key": "2_/2"}, ["p2"]),
        ({"path_dropoff_key": "1_/9", "path_start_key": "1_/1"}, ["p4"]),
        ({"limit": 2, "offset": 1}, ["p2", "p3"]),
    ],
)
def test_b8_people(keys, expected):
    assert paths_people({**BASE, **keys}, world(PEOPLE)) == expected
