"""Example tests for the filter oracle (tests/oracles/filters.py).

Each test cites the rule it checks: "§" sections are /work/shared/spec/trends.md, "README" is
the spec folder's README.md; "Decision" marks a choice documented in filters.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.oracles import filters
from tests.oracles.model import Action, Cohort, Event, Project, World

NOW = datetime(2026, 1, 10, 12, tzinfo=UTC)


def ev(
    event: str = "$pageview",
    props: dict | None = None,
    *,
    person: dict | None = None,
    person_id: str = "p1",
    at: datetime = NOW - timedelta(hours=1),
    chain: str = "",
    groups: dict | None = None,
    uuid: str = "e",
) -> Event:
    return Event(
        uuid=uuid,
        event=event,
        distinct_id=person_id,
        person_id=person_id,
        timestamp=at,
        properties=props or {},
        person_properties=person or {},
        elements_chain=chain,
        groups=groups or {},
    )


def world(*events: Event, **kwargs) -> World:
    return World(events=list(events), now=NOW, **kwargs)


def match(event: Event, properties, w: World | None = None) -> bool:
    return filters.event_matches(event, properties, w or world(event))


def prop(key, value=None, operator=None, type="event", **extra) -> dict:
    result = {"key": key, "value": value, "type": type, **extra}
    if operator is not None:
        result["operator"] = operator
    return result


# --- §4.5 exact / is_not ----------------------------------------------------------------------


def test_exact_scalar_and_list():
    # §4.5 exact: p equals any element of v (scalar boxed into a list).
    e = ev(props={"$browser": "Chrome"})
    assert match(e, [prop("$browser", "Chrome")])  # operator defaults to exact
    assert match(e, [prop("$browser", ["Safari", "Chrome"], "exact")])
    assert not match(e, [prop("$browser", "chrome", "exact")])  # case-sensitive
    assert not match(e, [prop("$browser", [], "exact")])


def test_exact_never_matches_a_missing_property():
    # §4.5: "Missing property never matches" — not even an empty string.
    assert not match(ev(), [prop("$browser", "", "exact")])
    assert match(ev(props={"$browser": ""}), [prop("$browser", "", "exact")])


def test_is_not_matches_a_missing_property():
    # §4.5 is_not: p not in the list; missing property ('') matches.
    assert match(ev(), [prop("$browser", "Chrome", "is_not")])
    assert match(ev(props={"$browser": "Safari"}), [prop("$browser", ["Chrome", "Edge"], "is_not")])
    assert not match(
        ev(props={"$browser": "Edge"}), [prop("$browser", ["Chrome", "Edge"], "is_not")]
    )


def test_numbers_and_numeric_strings_compare_as_strings():
    # §4.5: values stringified with Python str; numeric property 2 is "2".
    assert match(ev(props={"n": 1}), [prop("n", "1")])
    assert match(ev(props={"n": "1"}), [prop("n", 1)])
    assert not match(ev(props={"n": 1}), [prop("n", 1.0)])  # "1" != "1.0"
    assert match(ev(props={"n": 2.5}), [prop("n", "2.5")])


def test_booleans_compare_with_lowercase_strings():
    # §4.5: booleans are stored as JSON true/false; compare with lowercase string values.
    # Decision (§12 open question): a boolean filter value also compares as "true"/"false".
    assert match(ev(props={"ok": True}), [prop("ok", "true")])
    assert match(ev(props={"ok": True}), [prop("ok", True)])
    assert match(ev(props={"ok": "true"}), [prop("ok", True)])
    assert not match(ev(props={"ok": True}), [prop("ok", "True")])
    assert match(ev(props={"ok": False}), [prop("ok", ["false"], "exact")])
    assert match(ev(props={"ok": False}), [prop("ok", "true", "is_not")])


def test_json_values_compare_as_raw_json_without_spaces():
    # §4.5: "If v is JSON (object/array) compare raw JSON without spaces."
    e = ev(props={"obj": {"a": 1, "b": [1, 2]}})
    assert match(e, [prop("obj", '{"a": 1, "b": [1, 2]}')])
    assert match(e, [prop("obj", {"a": 1, "b": [1, 2]})])
    assert not match(e, [prop("obj", '{"b": [1, 2], "a": 1}')])


def test_json_null_is_not_set():
    # Decision: a JSON null counts as a missing property.
    e = ev(props={"x": None})
    assert match(e, [prop("x", operator="is_not_set")])
    assert not match(e, [prop("x", operator="is_set")])
    assert not match(e, [prop("x", "null", "exact")])


# --- §4.5 icontains / regex -------------------------------------------------------------------


def test_icontains_and_not_icontains():
    # §4.5: case-insensitive substring; not_icontains negates it, so a missing property matches.
    e = ev(props={"$current_url": "https://Example.com/Pricing"})
    assert match(e, [prop("$current_url", "example.COM", "icontains")])
    assert not match(e, [prop("$current_url", "blog", "icontains")])
    assert match(e, [prop("$current_url", "blog", "not_icontains")])
    assert not match(e, [prop("$current_url", "pricing", "not_icontains")])
    assert not match(ev(), [prop("$current_url", "x", "icontains")])
    assert match(ev(), [prop("$current_url", "x", "not_icontains")])


def test_icontains_is_literal():
    # Decision: % and _ in the value are literal characters.
    assert not match(ev(props={"s": "abc"}), [prop("s", "a%c", "icontains")])
    assert match(ev(props={"s": "50% off"}), [prop("s", "0% o", "icontains")])


def test_icontains_with_a_list_matches_any_and_not_icontains_needs_all():
    # Decision: list values expand as in PostHog's HogQL engine.
    e = ev(props={"s": "hello world"})
    assert match(e, [prop("s", ["xyz", "WORLD"], "icontains")])
    assert not match(e, [prop("s", ["xyz", "WORLD"], "not_icontains")])
    assert match(e, [prop("s", ["xyz", "abc"], "not_icontains")])


def test_regex_and_not_regex():
    # §4.5: match(p, v) (unanchored search) / its negation.
    e = ev(props={"$current_url": "https://example.com/docs/123"})
    assert match(e, [prop("$current_url", r"/docs/\d+$", "regex")])
    assert not match(e, [prop("$current_url", r"^/docs", "regex")])
    assert match(e, [prop("$current_url", r"^/docs", "not_regex")])
    # Missing property is '' for regexes: `^$` matches it, not_regex of a letter matches it.
    assert match(ev(), [prop("x", "^$", "regex")])
    assert match(ev(), [prop("x", "a", "not_regex")])


def test_invalid_regex_makes_both_operators_false():
    # §4.5: an invalid regex makes the clause always false (both operators).
    e = ev(props={"s": "abc"})
    assert not match(e, [prop("s", "(", "regex")])
    assert not match(e, [prop("s", "(", "not_regex")])


def test_regex_constructs_re2_lacks_are_invalid():
    # RE2 (ClickHouse) has no lookaround, backreferences or possessive quantifiers.
    e = ev(props={"s": "aa"})
    for pattern in ["a(?=a)", "(a)\\1", "a++", "(?<!b)a"]:
        assert not match(e, [prop("s", pattern, "regex")]), pattern
        assert not match(e, [prop("s", pattern, "not_regex")]), pattern
    assert match(e, [prop("s", "[+*]+|a", "regex")])  # not possessive: inside a class
    assert match(ev(props={"s": "a+"}), [prop("s", r"a\++", "regex")])


def test_regex_classes_are_ascii_like_re2():
    # RE2's \d and \w are ASCII-only.
    assert not match(ev(props={"s": "٣"}), [prop("s", r"\d", "regex")])


# --- §4.5 numeric -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [("gt", 5, True), ("gt", 10, False), ("gte", 10, True), ("lt", 10, False), ("lte", 10, True)],
)
def test_numeric_operators(operator, value, expected):
    # §4.5: toFloat64OrNull(p) <op> v.
    assert match(ev(props={"n": 10}), [prop("n", value, operator)]) is expected
    assert match(ev(props={"n": "10"}), [prop("n", str(value), operator)]) is expected


def test_numeric_operators_remove_spaces_and_ignore_non_numbers():
    # §4.5: spaces are removed before parsing; non-numeric → no match (also for missing).
    assert match(ev(props={"n": " 1 000 "}), [prop("n", 999, "gt")])
    assert match(ev(props={"n": "25"}), [prop("n", 24.5, "gt")])
    for value in ["not a number", True, None]:
        assert not match(ev(props={"n": value}), [prop("n", 0, "gt")])
        assert not match(ev(props={"n": value}), [prop("n", 0, "lte")])
    assert not match(ev(), [prop("n", 0, "lt")])
    assert not match(ev(props={"n": 3}), [prop("n", "abc", "lt")])


def test_min_and_max_are_inclusive_bounds():
    # PostHog's HogQL engine: min is >=, max is <=.
    assert match(ev(props={"n": 3}), [prop("n", 3, "min")])
    assert not match(ev(props={"n": 3}), [prop("n", 4, "min")])
    assert match(ev(props={"n": 3}), [prop("n", 3, "max")])
    assert not match(ev(props={"n": 3}), [prop("n", 2, "max")])


def test_between_and_not_between():
    # §4.5: v = [min, max] numeric, inclusive; not_between = < min or > max; min > max → error.
    for n, inside in [(1, True), (5, True), (3, True), (0, False), (6, False)]:
        assert match(ev(props={"n": n}), [prop("n", [1, 5], "between")]) is inside
        assert match(ev(props={"n": n}), [prop("n", ["1", "5"], "not_between")]) is not inside
    assert not match(ev(), [prop("n", [1, 5], "between")])
    assert not match(ev(), [prop("n", [1, 5], "not_between")])
    with pytest.raises(ValueError, match="properties"):
        match(ev(props={"n": 1}), [prop("n", [5, 1], "between")])


# --- §4.5 set / dates -------------------------------------------------------------------------


def test_is_set_and_is_not_set():
    # §4.5: is_set = key present; is_not_set = value null or key absent.
    e = ev(props={"a": "", "b": 0, "c": False})
    for key in ("a", "b", "c"):
        assert match(e, [prop(key, operator="is_set")])
        assert not match(e, [prop(key, operator="is_not_set")])
    assert match(e, [prop("d", operator="is_not_set")])
    assert not match(e, [prop("d", operator="is_set")])


def test_is_date_before_and_after():
    # §4.5: parse p as a datetime (best effort) and compare with v.
    e = ev(props={"signup": "2024-03-05T10:00:00Z"})
    assert match(e, [prop("signup", "2024-03-06", "is_date_before")])
    assert not match(e, [prop("signup", "2024-03-05", "is_date_before")])
    assert match(e, [prop("signup", "2024-03-04", "is_date_after")])
    # A bare date for is_date_after means the end of that day.
    assert not match(e, [prop("signup", "2024-03-05", "is_date_after")])
    assert match(
        ev(props={"signup": "2024-03-06 00:00:00"}), [prop("signup", "2024-03-05", "is_date_after")]
    )
    assert match(e, [prop("signup", "2024-03-05 09:59:59", "is_date_after")])


def test_is_date_falls_back_to_the_first_ten_characters():
    # §4.5: "best effort; fallback first 10 chars".
    e = ev(props={"d": "2024-03-05 and some text"})
    assert match(e, [prop("d", "2024-03-06", "is_date_before")])
    assert not match(ev(props={"d": "soon"}), [prop("d", "2024-03-06", "is_date_before")])
    assert not match(ev(), [prop("d", "2024-03-06", "is_date_before")])


def test_is_date_exact():
    # §4.5: p truncated to the day (date-only v) or the second, equal to v.
    e = ev(props={"d": "2024-03-05T10:11:12.345Z"})
    assert match(e, [prop("d", "2024-03-05", "is_date_exact")])
    assert not match(e, [prop("d", "2024-03-06", "is_date_exact")])
    assert match(e, [prop("d", "2024-03-05 10:11:12", "is_date_exact")])
    assert not match(e, [prop("d", "2024-03-05 10:11:13", "is_date_exact")])


def test_a_date_operator_needs_a_date_value():
    with pytest.raises(ValueError, match="properties"):
        match(ev(props={"d": "2024-03-05"}), [prop("d", "next week", "is_date_before")])


# --- §4.5 negation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "flipped"),
    [
        ("exact", "is_not"),
        ("icontains", "not_icontains"),
        ("regex", "not_regex"),
        ("gt", "lte"),
        ("lt", "gte"),
        ("is_set", "is_not_set"),
        ("is_date_before", "is_date_after"),
    ],
)
def test_negation_flips_the_operator(operator, flipped):
    # §4.5: negation: true flips the operator (both ways).
    value = "2024-01-01" if operator.startswith("is_date") else "5"
    for props in ({"k": "7"}, {"k": "3"}, {"k": "abc"}, {"k": "2024-06-01"}, {}):
        e = ev(props=props)
        assert match(e, [prop("k", value, operator, negation=True)]) == match(
            e, [prop("k", value, flipped)]
        )
        assert match(e, [prop("k", value, flipped, negation=True)]) == match(
            e, [prop("k", value, operator)]
        )


def test_negated_gt_is_lte_so_non_numbers_still_do_not_match():
    # §4.5: gt ↔ lte is a flip, not a logical NOT.
    assert not match(ev(props={"k": "abc"}), [prop("k", 5, "gt", negation=True)])


# --- §4.5 shapes ------------------------------------------------------------------------------


def test_flat_list_is_anded():
    # §4.5: flat list of property objects → AND of all.
    e = ev(props={"a": "1", "b": "2"})
    assert match(e, [prop("a", "1"), prop("b", "2")])
    assert not match(e, [prop("a", "1"), prop("b", "3")])


def test_nested_groups():
    # §4.5: {"type": "AND"|"OR", "values": [...]}, arbitrarily nested.
    e = ev(props={"a": "1", "b": "2"})
    tree = {
        "type": "OR",
        "values": [
            {"type": "AND", "values": [prop("a", "1"), prop("b", "3")]},
            {"type": "AND", "values": [prop("a", "1"), {"type": "OR", "values": [prop("b", "2")]}]},
        ],
    }
    assert match(e, tree)
    tree["values"][1]["values"][1]["values"][0]["value"] = "9"
    assert not match(e, tree)


def test_empty_filters_and_empty_groups_add_no_condition():
    # PostHog drops empty clauses: an empty group is no condition, even inside an OR.
    e = ev(props={"a": "1"})
    assert match(e, [])
    assert match(e, None)
    assert match(e, {"type": "AND", "values": []})
    assert not match(e, {"type": "OR", "values": [{"type": "AND", "values": []}, prop("a", "2")]})


def test_legacy_dict_properties():
    # §4.5: {"<key>": value, "<key>__<operator>": value} → event properties.
    e = ev(props={"$browser": "Chrome", "$os": "Mac OS X"})
    assert match(e, {"$browser": "Chrome", "$os__icontains": "mac"})
    assert not match(e, {"$browser": "Chrome", "$os__icontains": "win"})


def test_properties_as_a_json_string():
    # §1: complex query-string values are JSON-encoded strings.
    e = ev(props={"a": "1"})
    assert match(e, '[{"key": "a", "value": "1", "type": "event"}]')
    with pytest.raises(ValueError, match="properties"):
        match(e, "[{not json")


def test_unknown_operator_and_hogql_are_refused():
    # README: hogql property filters are refused with 400 naming the field.
    with pytest.raises(ValueError, match="properties"):
        match(ev(), [prop("a", "1", "sounds_like")])
    with pytest.raises(ValueError, match="hogql"):
        match(ev(), [{"key": "properties.a = 1", "type": "hogql"}])


# --- §4.5 property types ----------------------------------------------------------------------


def test_person_properties_are_the_current_ones():
    # §4.5: person (person properties; current values).
    e = ev(person={"email": "ann@example.com"}, props={"email": "other@x.io"})
    assert match(e, [prop("email", "example.com", "icontains", type="person")])
    assert not match(e, [prop("email", "x.io", "icontains", type="person")])


def test_group_properties_by_group_type_index():
    # §4.5: group (group properties of $group_<group_type_index>).
    e = ev(groups={0: "acme", 1: "team-a"})
    w = world(e, group_properties={(0, "acme"): {"plan": "pro"}, (1, "team-a"): {"plan": "free"}})
    assert match(e, [prop("plan", "pro", type="group", group_type_index=0)], w)
    assert match(e, [prop("plan", "free", type="group", group_type_index=1)], w)
    assert not match(e, [prop("plan", "pro", type="group", group_type_index=2)], w)
    assert match(e, [prop("plan", operator="is_not_set", type="group", group_type_index=2)], w)
    with pytest.raises(ValueError, match="group_type_index"):
        match(e, [prop("plan", "pro", type="group")], w)


def test_group_key_event_property_falls_back_to_the_events_groups():
    # §9: unique_group entities get an implicit `$group_N is_not ''` filter.
    assert match(ev(groups={0: "acme"}), [prop("$group_0", "", "is_not")])
    assert not match(ev(), [prop("$group_0", "", "is_not")])


def test_session_duration():
    # §4.5: session ($session_duration seconds, compared numerically).
    start = NOW - timedelta(hours=2)
    a = ev(props={"$session_id": "s1"}, at=start, uuid="a")
    b = ev(props={"$session_id": "s1"}, at=start + timedelta(seconds=90.7), uuid="b")
    c = ev(props={"$session_id": "s2"}, at=start, uuid="c")
    lone = ev(uuid="d")
    w = world(a, b, c, lone)
    assert filters.session_duration(a, w) == 90
    assert match(a, [prop("$session_duration", 60, "gt", type="session")], w)
    assert match(b, [prop("$session_duration", 90, "exact", type="session")], w)
    assert not match(c, [prop("$session_duration", 0, "gt", type="session")], w)
    assert match(c, [prop("$session_duration", 0, "exact", type="session")], w)
    # Decision: an event without a session has no duration.
    assert not match(lone, [prop("$session_duration", 100, "lt", type="session")], w)
    with pytest.raises(ValueError, match="session_duration"):
        match(a, [prop("$session_duration", "long", "gt", type="session")], w)


# --- cohorts ----------------------------------------------------------------------------------


def cohort_prop(cohort_id, **extra) -> dict:
    return {"key": "id", "value": cohort_id, "type": "cohort", **extra}


def test_static_cohorts_by_person_id():
    # §4.5 cohort: key "id", value cohort id; static cohorts by membership.
    e1, e2 = ev(person_id="p1"), ev(person_id="p2")
    w = world(e1, e2, cohorts={3: Cohort(id=3, person_ids=frozenset({"p1"}))})
    assert match(e1, [cohort_prop(3)], w)
    assert not match(e2, [cohort_prop(3)], w)
    assert match(e2, [cohort_prop(3, negation=True)], w)
    assert match(e2, [cohort_prop("3", operator="not_in")], w)


def test_unknown_cohort_is_an_error():
    # README: an unknown cohort id in a filter is a 400 naming the field.
    with pytest.raises(ValueError, match="properties"):
        match(ev(), [cohort_prop(99)])


def test_dynamic_cohort_by_person_properties():
    cohort = Cohort(
        id=1,
        filters={
            "properties": {
                "type": "OR",
                "values": [
                    {
                        "type": "AND",
                        "values": [prop("email", "@acme.com", "icontains", type="person")],
                    },
                    {"type": "AND", "values": [prop("plan", "pro", type="person")]},
                ],
            }
        },
    )
    a = ev(person_id="a", person={"email": "x@acme.com"})
    b = ev(person_id="b", person={"plan": "pro"})
    c = ev(person_id="c", person={"email": "c@other.io", "plan": "free"})
    w = world(a, b, c, cohorts={1: cohort})
    assert [match(e, [cohort_prop(1)], w) for e in (a, b, c)] == [True, True, False]


def behavioral(value: str, **extra) -> dict:
    return {
        "key": "$pageview",
        "type": "behavioral",
        "value": value,
        "event_type": "events",
        **extra,
    }


def test_dynamic_cohort_performed_event_in_the_last_days():
    # Behavioural criterion: performed the event with now − 7 days < ts < now.
    recent = ev(person_id="a", at=NOW - timedelta(days=6, hours=23))
    old = ev(person_id="b", at=NOW - timedelta(days=7, seconds=1))
    other = ev("signup", person_id="c", at=NOW - timedelta(days=1))
    cohorts = {
        1: Cohort(
            id=1,
            filters={
                "properties": behavioral("performed_event", time_value=7, time_interval="day")
            },
        )
    }
    w = world(recent, old, other, cohorts=cohorts)
    assert [match(e, [cohort_prop(1)], w) for e in (recent, old, other)] == [True, False, False]


def test_dynamic_cohort_did_not_perform_event():
    # A negated behavioural criterion: did not perform the event in the window.
    signup = ev("signup", person_id="a")
    visit = ev(person_id="b", at=NOW - timedelta(days=2))
    crit = {
        "type": "AND",
        "values": [
            behavioral("performed_event", time_value=30, time_interval="day", negation=True),
        ],
    }
    w = world(signup, visit, cohorts={1: Cohort(id=1, filters={"properties": crit})})
    assert match(signup, [cohort_prop(1)], w)
    assert not match(visit, [cohort_prop(1)], w)


def test_dynamic_cohort_performed_event_multiple_times():
    # performed_event_multiple: count in the window compared with operator_value.
    a = [ev(person_id="a", at=NOW - timedelta(days=d), uuid=f"a{d}") for d in (1, 2, 3)]
    b = [ev(person_id="b", at=NOW - timedelta(days=d), uuid=f"b{d}") for d in (1, 2, 10)]
    crit = behavioral(
        "performed_event_multiple",
        operator="gte",
        operator_value=3,
        time_value=1,
        time_interval="week",
    )
    w = world(
        *a, *b, cohorts={1: Cohort(id=1, filters={"properties": {"type": "AND", "values": [crit]}})}
    )
    assert match(a[0], [cohort_prop(1)], w)
    assert not match(b[0], [cohort_prop(1)], w)


def test_dynamic_cohort_first_performed_in_the_last_days():
    # performed_event_first_time: the first matching event ever is in [now − T, now).
    new = ev(person_id="a", at=NOW - timedelta(days=2))
    veteran = [
        ev(person_id="b", at=NOW - timedelta(days=2), uuid="b1"),
        ev(person_id="b", at=NOW - timedelta(days=40), uuid="b2"),
    ]
    crit = behavioral("performed_event_first_time", time_value=30, time_interval="day")
    w = world(new, *veteran, cohorts={1: Cohort(id=1, filters={"properties": crit})})
    assert match(new, [cohort_prop(1)], w)
    assert not match(veteran[0], [cohort_prop(1)], w)


def test_dynamic_cohort_stopped_performing_event():
    # stopped_performing_event: some in (now − T, now − S], none in (now − S, now].
    stopped = ev(person_id="a", at=NOW - timedelta(days=20))
    still = [
        ev(person_id="b", at=NOW - timedelta(days=20), uuid="b1"),
        ev(person_id="b", at=NOW - timedelta(days=1), uuid="b2"),
    ]
    crit = behavioral(
        "stopped_performing_event",
        time_value=30,
        time_interval="day",
        seq_time_value=7,
        seq_time_interval="day",
    )
    w = world(stopped, *still, cohorts={1: Cohort(id=1, filters={"properties": crit})})
    assert match(stopped, [cohort_prop(1)], w)
    assert not match(still[0], [cohort_prop(1)], w)


def test_dynamic_cohort_of_an_action_and_of_another_cohort():
    # Behavioural criteria may name an action; a cohort may contain another cohort.
    click = ev("$autocapture", person_id="a", chain='button:nth-child="1"nth-of-type="1"text="Buy"')
    actions = {5: Action(id=5, name="Buy", steps=[{"event": "$autocapture", "text": "Buy"}])}
    cohorts = {
        1: Cohort(
            id=1,
            filters={
                "properties": {
                    **behavioral("performed_event", time_value=1, time_interval="day"),
                    "key": 5,
                    "event_type": "actions",
                }
            },
        ),
        2: Cohort(id=2, filters={"properties": {"type": "AND", "values": [cohort_prop(1)]}}),
        3: Cohort(id=3, filters={"properties": {"type": "AND", "values": [cohort_prop(3)]}}),
    }
    w = world(click, actions=actions, cohorts=cohorts)
    assert match(click, [cohort_prop(2)], w)
    with pytest.raises(ValueError, match="cohort 3"):
        match(click, [cohort_prop(3)], w)


def test_legacy_cohort_groups():
    # PostHog's older cohort format: {"groups": [...]}, groups ORed.
    cohort = Cohort(
        id=1,
        filters={
            "groups": [
                {"properties": [prop("plan", "pro", type="person")]},
                {"event_id": "$pageview", "days": 3, "count": 2, "count_operator": "gte"},
            ]
        },
    )
    pro = ev(person_id="a", person={"plan": "pro"}, at=NOW - timedelta(days=30))
    busy = [ev(person_id="b", at=NOW - timedelta(days=1), uuid=f"b{i}") for i in range(2)]
    idle = ev(person_id="c", at=NOW - timedelta(days=1))
    w = world(pro, *busy, idle, cohorts={1: cohort})
    assert [match(e, [cohort_prop(1)], w) for e in (pro, busy[0], idle)] == [True, True, False]


# --- elements (autocapture) -------------------------------------------------------------------

CHAIN = (
    'a.btn.btn-primary:attr__href="/signup"attr__data-attr="cta"href="/signup"nth-child="2"'
    'nth-of-type="1"text="Sign up";'
    'div.hero:attr__class="hero"attr_id="top"nth-child="1"nth-of-type="1";'
    'body:nth-child="2"nth-of-type="1"'
)


def test_parse_elements_chain():
    elements = filters.parse_elements_chain(CHAIN)
    assert [e.tag_name for e in elements] == ["a", "div", "body"]
    assert elements[0].classes == ("btn", "btn-primary")
    assert elements[0].href == "/signup"
    assert elements[0].text == "Sign up"
    assert elements[0].nth_child == 2
    assert elements[0].attributes == {"attr__href": "/signup", "attr__data-attr": "cta"}
    assert elements[1].attr_id == "top"
    quoted = filters.parse_elements_chain(
        'span:nth-child="1"nth-of-type="1"text="say \\"hi\\"; ok"'
    )
    assert quoted[0].text == 'say "hi"; ok'


def element(key, value, operator=None, **extra) -> dict:
    return prop(key, value, operator, type="element", **extra)


def test_element_tag_name_text_href():
    # §4.5 element: keys tag_name, text, href, selector (any element of the chain).
    e = ev("$autocapture", chain=CHAIN)
    assert match(e, [element("tag_name", "div")])
    assert not match(e, [element("tag_name", "button")])
    assert match(e, [element("tag_name", "button", "is_not")])
    assert match(e, [element("text", "Sign up")])
    assert match(e, [element("text", "SIGN", "icontains")])
    assert match(e, [element("href", "/signup", "exact")])
    assert match(e, [element("href", "/login", "is_not")])
    assert match(e, [element("text", "^Sign", "regex")])  # Decision: searched inside the value
    assert match(e, [element("href", None, "is_set")])
    assert not match(ev(), [element("href", None, "is_set")])
    assert match(e, [element("text", "Sign up", negation=True)]) is False


def test_element_selector():
    e = ev("$autocapture", chain=CHAIN)
    assert match(e, [element("selector", "a.btn")])
    assert match(e, [element("selector", "div > a")])
    assert match(e, [element("selector", "body a.btn-primary")])
    assert match(e, [element("selector", "#top")])
    assert match(e, [element("selector", "div#top > a[data-attr='cta']")])
    assert match(e, [element("selector", "a:nth-child(2)")])
    assert match(e, [element("selector", "div")])  # an ancestor of the clicked element counts
    assert not match(e, [element("selector", "body > a")])  # not the direct parent
    assert not match(e, [element("selector", "a > div")])
    assert not match(e, [element("selector", "a.missing")])
    assert match(e, [element("selector", "a.missing", "is_not")])
    assert match(e, [element("selector", ["button", "a.btn"])])


def test_element_selector_only_supports_exact_and_is_not():
    # §4.5: selector only supports exact/is_not.
    with pytest.raises(ValueError, match="selector"):
        match(ev(chain=CHAIN), [element("selector", "a", "icontains")])
    with pytest.raises(ValueError, match="selector"):
        match(ev(chain=CHAIN), [element("selector", "a:hover")])


# --- §2.1 entities and actions ----------------------------------------------------------------


def test_event_entities():
    # §2.1: id = event name; null id means all events; plus the entity's own properties.
    e = ev("signup", props={"plan": "pro"})
    w = world(e)
    assert filters.entity_matches(e, {"type": "events", "id": "signup"}, w)
    assert not filters.entity_matches(e, {"type": "events", "id": "$pageview"}, w)
    assert filters.entity_matches(e, {"type": "events", "id": None}, w)
    assert filters.entity_matches(
        e, {"type": "events", "id": "signup", "properties": [prop("plan", "pro")]}, w
    )
    assert not filters.entity_matches(
        e, {"type": "events", "id": None, "properties": [prop("plan", "free")]}, w
    )


def test_action_steps_are_ored():
    # §2.1: an action is an OR of steps; each step has an event name plus optional
    # url / selector / text / properties.
    action = Action(
        id=7,
        name="Pricing or signup",
        steps=[
            {"event": "$pageview", "url": "/pricing", "url_matching": "contains"},
            {"event": "signup", "properties": [prop("plan", "pro")]},
        ],
    )
    w = world(actions={7: action})
    entity = {"type": "actions", "id": 7}
    assert filters.entity_matches(ev(props={"$current_url": "https://x.io/pricing?a=1"}), entity, w)
    assert not filters.entity_matches(ev(props={"$current_url": "https://x.io/blog"}), entity, w)
    assert filters.entity_matches(ev("signup", props={"plan": "pro"}), entity, w)
    assert not filters.entity_matches(ev("signup", props={"plan": "free"}), entity, w)
    assert filters.entity_matches(ev("signup", props={"plan": "pro"}), {**entity, "id": "7"}, w)


def test_action_url_matching():
    w = world()
    url = {"$current_url": "https://x.io/Pricing"}
    cases = [
        ({"url": "/Pricing"}, True),  # contains is the default, case-sensitive
        ({"url": "/pricing"}, False),
        ({"url": "https://x.io/Pricing", "url_matching": "exact"}, True),
        ({"url": "x.io/Pricing", "url_matching": "exact"}, False),
        ({"url": r"^https://x\.io/P", "url_matching": "regex"}, True),
        ({"url": "(", "url_matching": "regex"}, False),
    ]
    for step, expected in cases:
        action = Action(id=1, name="a", steps=[{"event": "$pageview", **step}])
        assert filters.action_matches(ev(props=url), action, w) is expected, step


def test_action_autocapture_element_conditions():
    # PostHog applies selector / tag_name / text / href only to `$autocapture` steps.
    w = world()
    click = ev("$autocapture", chain=CHAIN)
    cases = [
        ({"text": "Sign up"}, True),
        ({"text": "sign", "text_matching": "contains"}, True),
        ({"text": "Sign"}, False),
        ({"href": "/sign.*", "href_matching": "regex"}, True),
        ({"selector": "div > a.btn"}, True),
        ({"selector": "section a"}, False),
        ({"tag_name": "a"}, True),
        ({"tag_name": "button"}, False),
    ]
    for step, expected in cases:
        action = Action(id=1, name="a", steps=[{"event": "$autocapture", **step}])
        assert filters.action_matches(click, action, w) is expected, step
    # On a non-autocapture step the element conditions are ignored.
    action = Action(id=1, name="a", steps=[{"event": "$pageview", "text": "Nope"}])
    assert filters.action_matches(ev(), action, w)


def test_action_step_without_event_matches_any_event():
    action = Action(id=1, name="a", steps=[{"event": None, "properties": [prop("plan", "pro")]}])
    assert filters.action_matches(ev("anything", props={"plan": "pro"}), action, world())
    assert not filters.action_matches(ev("x"), Action(id=2, name="empty", steps=[]), world())


def test_unknown_action_is_an_error():
    # README: an unknown action id is a 400 naming the field.
    with pytest.raises(ValueError, match="actions"):
        filters.entity_matches(ev(), {"type": "actions", "id": 404}, world())


# --- §9 filter_test_accounts ------------------------------------------------------------------


def test_filter_test_accounts():
    # §9: when true (true or "true"), the project's test_account_filters are ANDed with the
    # request's properties; false/absent → ignored.
    project = Project(
        test_account_filters=[
            prop("email", "@posthog.com", "not_icontains", type="person"),
            prop("$host", ["localhost:8000"], "is_not"),
        ]
    )
    real = ev(person={"email": "ann@acme.com"}, props={"$host": "acme.com", "plan": "pro"})
    staff = ev(person={"email": "bob@posthog.com"}, props={"$host": "acme.com", "plan": "pro"})
    local = ev(person={"email": "ann@acme.com"}, props={"$host": "localhost:8000", "plan": "pro"})
    w = World(events=[real, staff, local], project=project, now=NOW)
    for flag, expected in [
        (True, [True, False, False]),
        ("true", [True, False, False]),
        (False, [True] * 3),
        (None, [True] * 3),
    ]:
        filter = {"properties": [prop("plan", "pro")], "filter_test_accounts": flag}
        assert [
            filters.passes_global_filters(e, filter, w) for e in (real, staff, local)
        ] == expected
    filter = {"properties": [prop("plan", "free")], "filter_test_accounts": True}
    assert not filters.passes_global_filters(real, filter, w)
