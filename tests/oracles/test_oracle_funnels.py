"""Example tests for the funnel and correlation oracles. Each test cites the rule of
/work/shared/spec/funnels.md (§) or the spec README decision it reproduces."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tests.oracles.correlation import correlation
from tests.oracles.funnels import FunnelValidationError, funnel, funnel_actors
from tests.oracles.model import Action, Cohort, Event, Project, World

_uuids = itertools.count()
T0 = datetime(2021, 5, 3, 12, 0, tzinfo=UTC)  # a Monday, mid-range
NOW = datetime(2021, 6, 1, tzinfo=UTC)
MAY = {"date_from": "2021-05-01", "date_to": "2021-05-31"}
SEC, MIN, HOUR, DAY = (timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1),
                       timedelta(days=1))  # fmt: skip


def ev(
    person: str,
    event: str,
    at: timedelta | datetime = timedelta(0),
    props: dict | None = None,
    person_props: dict | None = None,
    groups: dict | None = None,
    chain: str = "",
) -> Event:
    return Event(
        uuid=f"u{next(_uuids)}",
        event=event,
        distinct_id=person,
        person_id=person,
        timestamp=at if isinstance(at, datetime) else T0 + at,
        properties=props or {},
        person_properties=person_props or {},
        groups=groups or {},
        elements_chain=chain,
    )


def world(*events: Event, **extra) -> World:
    return World(events=list(events), now=NOW, **extra)


def steps(*entities, **extra) -> dict:
    """A filter with the given steps (names or entity dicts) in order, over May 2021."""
    events = []
    for i, entity in enumerate(entities):
        entity = {"id": entity} if isinstance(entity, str) or entity is None else dict(entity)
        events.append({"type": "events", "order": i, **entity})
    return {"events": events, **MAY, **extra}


def counts(result: list) -> list[int]:
    return [step["count"] for step in result]


def series_counts(result: list) -> list[tuple]:
    return [(tuple(s[0]["breakdown_value"]) if isinstance(s[0]["breakdown_value"], list)
             else s[0]["breakdown_value"], counts(s)) for s in result]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# §1.1 steps


def test_no_steps_gives_empty_result_and_one_step_is_allowed():
    # §1.1: 0 steps → []; 1 step counts everyone who did it
    w = world(ev("a", "A"), ev("b", "A"), ev("c", "B"))
    assert funnel({**MAY}, w) == []
    assert counts(funnel(steps("A"), w)) == [2]


def test_steps_sorted_by_order_then_position():
    # §1.1 + README: actions first, then events, stable-sorted by `order`; a missing order is
    # -1 (PostHog's key) but an explicit 0 no longer ties with it
    w = world(actions={1: Action(1, "Signed up", [{"event": "S"}])})
    f = {
        **MAY,
        "actions": [{"id": 1, "type": "actions", "order": 1}],
        "events": [{"id": "B", "order": 0}, {"id": "C"}],
    }
    result = funnel(f, w)
    assert [s["action_id"] for s in result] == ["C", "B", 1]
    assert [s["order"] for s in result] == [0, 1, 2]
    assert result[2]["name"] == "Signed up" and result[2]["type"] == "actions"
    tie = {**MAY, "actions": [{"id": 1, "order": 0}], "events": [{"id": "B", "order": 0}]}
    assert [s["action_id"] for s in funnel(tie, w)] == [1, "B"]


def test_step_objects_shape():
    # §3.1: keys of a step; step 0 has no times; custom_name echoed; "All events" is null
    w = world(ev("a", "A"), ev("a", "B", HOUR))
    result = funnel(steps({"id": "A", "custom_name": "Start"}, None), w)
    first, second = result
    assert first["custom_name"] == "Start" and first["people"] == []
    assert first["average_conversion_time"] is None and first["median_conversion_time"] is None
    assert second["action_id"] is None and second["name"] is None
    assert first["_converted_people"] == {"a"} and first["_dropped_people"] == set()


def test_no_data_still_lists_every_step():
    # §3.1: with no matching data the list still has N entries with count 0 and null times
    result = funnel(steps("A", "B"), world(ev("a", "Z")))
    assert counts(result) == [0, 0]
    assert [s["average_conversion_time"] for s in result] == [None, None]


def test_unknown_action_is_an_error_naming_the_field():
    # README: an unknown action id is a 400 naming the field
    with pytest.raises(ValueError, match="actions"):
        funnel({**MAY, "actions": [{"id": 99, "type": "actions"}]}, world(ev("a", "A")))


def test_step_properties_apply_to_that_step_only():
    # §1.1: per-step properties filter that step's matching
    w = world(ev("a", "A"), ev("a", "B", HOUR, {"plan": "pro"}), ev("b", "A"), ev("b", "B", HOUR))
    f = steps("A", {"id": "B", "properties": [{"key": "plan", "value": "pro"}]})
    assert counts(funnel(f, w)) == [2, 1]


# ---------------------------------------------------------------------------------------------
# §2.2 ordered funnels


def test_ordered_counts_are_cumulative_with_people():
    # §2.2: count at step k = actors whose furthest step >= k; people behind each step
    w = world(
        ev("a", "A"), ev("a", "B", HOUR), ev("a", "C", 2 * HOUR),
        ev("b", "A"), ev("b", "B", HOUR),
        ev("c", "A"), ev("c", "C", HOUR),  # C without B: stays at step 1
        ev("d", "B"),  # never entered
    )  # fmt: skip
    result = funnel(steps("A", "B", "C"), w)
    assert counts(result) == [3, 2, 1]
    assert result[1]["_converted_people"] == {"a", "b"}
    assert result[1]["_dropped_people"] == {"c"}
    assert result[2]["_dropped_people"] == {"b"}


def test_steps_out_of_order_do_not_convert():
    # §2.2: t1 is the earliest step-1 event at or after t0
    w = world(ev("a", "B"), ev("a", "A", HOUR))
    assert counts(funnel(steps("A", "B"), w)) == [1, 0]


def test_different_steps_at_the_same_time_convert():
    # §2.2 test_funnel_with_different_actions_at_same_time_count_as_converted; README `<=`
    w = world(ev("a", "A"), ev("a", "B"))
    result = funnel(steps("A", "B"), w)
    assert counts(result) == [1, 1]
    assert result[1]["average_conversion_time"] == 0


def test_repeated_identical_step_needs_a_strictly_later_event():
    # §2.2 / README: an equal step needs a different, strictly later event
    tied = world(ev("a", "A"), ev("a", "A"))
    later = world(ev("a", "A"), ev("a", "A", SEC))
    assert counts(funnel(steps("A", "A"), tied)) == [1, 0]
    assert counts(funnel(steps("A", "A"), later)) == [1, 1]
    assert counts(funnel(steps("A", "A"), world(ev("a", "A")))) == [1, 0]


def test_superset_step_needs_a_strictly_later_event():
    # §2.2: a superset of the previous step (fewer property filters, or "All events") is
    # treated like a repeat
    pro = {"plan": "pro"}
    f = steps({"id": "A", "properties": [{"key": "plan", "value": "pro"}]}, "A")
    assert counts(funnel(f, world(ev("a", "A", props=pro)))) == [1, 0]
    assert counts(funnel(f, world(ev("a", "A", props=pro), ev("a", "A")))) == [1, 0]
    assert counts(funnel(f, world(ev("a", "A", props=pro), ev("a", "A", SEC)))) == [1, 1]
    all_events = steps("A", None)
    assert counts(funnel(all_events, world(ev("a", "A")))) == [1, 0]
    assert counts(funnel(all_events, world(ev("a", "A"), ev("a", "Z", SEC)))) == [1, 1]


def test_single_event_can_satisfy_a_step_and_a_narrower_next_step():
    # §2.2 quirk: step 0 "All events", step 1 $pageview: one pageview does both, 0 seconds
    result = funnel(steps(None, "$pageview"), world(ev("a", "$pageview")))
    assert counts(result) == [1, 1]
    assert result[1]["average_conversion_time"] == 0
    # the same holds for a step that adds a property filter to the previous one
    narrower = steps("A", {"id": "A", "properties": [{"key": "plan", "value": "pro"}]})
    assert counts(funnel(narrower, world(ev("a", "A", props={"plan": "pro"})))) == [1, 1]


def test_ties_are_judged_on_timestamps_only():
    # README ties: each step is compared with the step before it only, so in A, B, A a B tied
    # with the first A lets that A's timestamp serve step 3 too (PostHog's SQL can do the same)
    f = steps("A", "B", "A")
    assert counts(funnel(f, world(ev("a", "A"), ev("a", "B")))) == [1, 1, 1]
    assert counts(funnel(f, world(ev("a", "A"), ev("a", "B", HOUR)))) == [1, 1, 0]


def test_unknown_order_type_is_ordered_and_unknown_viz_type_is_refused():
    # §1.4: `ordered` when missing or unknown; §1.5 lists the only viz types
    w = world(ev("a", "A"), ev("a", "Z", MIN), ev("a", "B", HOUR))
    assert counts(funnel(steps("A", "B", funnel_order_type="zigzag"), w)) == [1, 1]
    assert counts(funnel(steps("A", "B", funnel_order_type="STRICT"), w)) == [1, 0]
    with pytest.raises(FunnelValidationError, match="funnel_viz_type"):
        funnel(steps("A", "B", funnel_viz_type="sankey"), w)


def test_window_is_inclusive_and_measured_from_the_first_step():
    # §1.3 inclusive window; §2.2 measured from step 0, default 14 days
    edge = world(ev("a", "A"), ev("a", "B", 14 * DAY))
    past = world(ev("a", "A"), ev("a", "B", 14 * DAY + SEC))
    assert counts(funnel(steps("A", "B"), edge)) == [1, 1]
    assert counts(funnel(steps("A", "B"), past)) == [1, 0]
    chain = world(ev("a", "A"), ev("a", "B", 10 * DAY), ev("a", "C", 15 * DAY))
    assert counts(funnel(steps("A", "B", "C"), chain)) == [1, 1, 0]


@pytest.mark.parametrize(
    ("params", "gap", "converts"),
    [
        ({"funnel_window_interval": 2, "funnel_window_interval_unit": "hour"}, 2 * HOUR, True),
        ({"funnel_window_interval": 2, "funnel_window_interval_unit": "hour"}, 2 * HOUR + SEC,
         False),
        ({"funnel_window_interval": 30, "funnel_window_interval_unit": "second"}, 30 * SEC, True),
        ({"funnel_window_interval": 30, "funnel_window_interval_unit": "second"}, 31 * SEC,
         False),
        ({"funnel_window_interval": 5, "funnel_window_interval_type": "MINUTE"}, 5 * MIN, True),
        ({"funnel_window_interval": 1, "funnel_window_interval_unit": "week"}, 7 * DAY, True),
        ({"funnel_window_interval": 1, "funnel_window_interval_unit": "week"}, 7 * DAY + SEC,
         False),
        # deprecated funnel_window_days wins over the interval pair
        ({"funnel_window_days": 1, "funnel_window_interval": 30}, 2 * DAY, False),
        ({"funnel_window_days": 1, "funnel_window_interval": 30}, DAY, True),
        # funnel_window_interval 0 is unset → 14 days
        ({"funnel_window_interval": 0}, 14 * DAY, True),
    ],
)  # fmt: skip
def test_window_units(params, gap, converts):
    # §1.3: units second..month, the `_type`/`_unit` spellings (README), days override
    w = world(ev("a", "A"), ev("a", "B", gap))
    assert counts(funnel(steps("A", "B", **params), w)) == [1, 1 if converts else 0]


def test_month_window_uses_calendar_months():
    # §1.3: `month` is INTERVAL n MONTH: Jan 31 + 1 month = Feb 28 (2021)
    jan31 = datetime(2021, 1, 31, 12, tzinfo=UTC)
    f = steps("A", "B", funnel_window_interval=1, funnel_window_interval_unit="month",
              date_from="2021-01-01", date_to="2021-03-31")  # fmt: skip
    inside = world(ev("a", "A", jan31), ev("a", "B", datetime(2021, 2, 28, 12, tzinfo=UTC)))
    outside = world(ev("a", "A", jan31), ev("a", "B", datetime(2021, 2, 28, 12, 1, tzinfo=UTC)))
    assert counts(funnel(f, inside)) == [1, 1]
    assert counts(funnel(f, outside)) == [1, 0]


def test_window_validation():
    # §1.3: an unknown unit is a 400 "... not supported"; a negative window is refused
    with pytest.raises(FunnelValidationError, match="not supported"):
        funnel(steps("A", "B", funnel_window_interval_unit="fortnight"), world())
    with pytest.raises(ValueError, match="funnel_window_interval"):
        funnel(steps("A", "B", funnel_window_interval=-1), world())


def test_later_attempt_can_convert():
    # §2.2: no re-entry restriction; a failed early attempt does not block a later one
    w = world(ev("a", "A"), ev("a", "A", 20 * DAY), ev("a", "B", 20 * DAY + HOUR))
    result = funnel(steps("A", "B"), w)
    assert counts(result) == [1, 1]
    assert result[1]["average_conversion_time"] == 3600  # §4.1 the incomplete try is ignored


def test_events_outside_the_date_range_do_not_count():
    # §1.2: a conversion whose later step falls after date_to does not count
    w = world(ev("a", "A", datetime(2021, 5, 31, 23, tzinfo=UTC)),
              ev("a", "B", datetime(2021, 6, 1, 0, 30, tzinfo=UTC)))  # fmt: skip
    assert counts(funnel(steps("A", "B"), w)) == [1, 0]


def test_global_properties_apply_to_every_step():
    # §1.2: global properties filter every event considered
    w = world(ev("a", "A", props={"x": 1}), ev("a", "B", HOUR), ev("b", "A", props={"x": 1}),
              ev("b", "B", HOUR, {"x": 1}))  # fmt: skip
    f = steps("A", "B", properties=[{"key": "x", "value": 1}])
    assert counts(funnel(f, w)) == [2, 1]


# ---------------------------------------------------------------------------------------------
# §2.3 exclusions


def _excluding(*names, start=0, end=1, **extra) -> dict:
    exclusion = {"id": "X", "type": "events", "funnel_from_step": start, "funnel_to_step": end}
    return steps(*names, exclusions=[exclusion], **extra)


def test_exclusion_removes_the_person_from_every_step():
    # §2.3: the attempt is discarded; a person without clean attempts vanishes everywhere
    w = world(ev("a", "A"), ev("a", "X", HOUR), ev("a", "B", 2 * HOUR),
              ev("b", "A"), ev("b", "B", HOUR))  # fmt: skip
    result = funnel(_excluding("A", "B"), w)
    assert counts(result) == [1, 1]
    assert result[0]["_converted_people"] == {"b"}


def test_exclusion_after_the_to_step_is_harmless():
    # §2.3: only strictly between `from` and `to`
    w = world(ev("a", "A"), ev("a", "B", HOUR), ev("a", "X", 2 * HOUR))
    assert counts(funnel(_excluding("A", "B"), w)) == [1, 1]


def test_exclusion_without_end_event():
    # §2.3 test_funnel_exclusion_no_end_event: `to` not reached → up to `from` + window
    inside = world(ev("a", "A"), ev("a", "X", DAY))
    beyond = world(ev("a", "A"), ev("a", "X", 15 * DAY))
    assert counts(funnel(_excluding("A", "B"), inside)) == [0, 0]
    assert counts(funnel(_excluding("A", "B"), beyond)) == [1, 0]


def test_exclusion_bounds_are_strict():
    # §2.3: tf < tx < tt, both strict
    at_start = world(ev("a", "A"), ev("a", "X"), ev("a", "B", HOUR))
    at_end = world(ev("a", "A"), ev("a", "X", HOUR), ev("a", "B", HOUR))
    assert counts(funnel(_excluding("A", "B"), at_start)) == [1, 1]
    assert counts(funnel(_excluding("A", "B"), at_end)) == [1, 1]


def test_exclusion_is_per_attempt():
    # §2.3: a person with another clean attempt still counts
    w = world(ev("a", "A"), ev("a", "X", HOUR), ev("a", "B", 2 * HOUR),
              ev("a", "A", 3 * HOUR), ev("a", "B", 4 * HOUR))  # fmt: skip
    result = funnel(_excluding("A", "B"), w)
    assert counts(result) == [1, 1]
    assert result[1]["average_conversion_time"] == 3600


def test_exclusion_range_in_the_middle():
    # §2.3: the range (1, 2) only looks between the step-1 and step-2 events
    before = world(ev("a", "A"), ev("a", "X", 30 * MIN), ev("a", "B", HOUR), ev("a", "C", 2 * HOUR))
    between = world(ev("a", "A"), ev("a", "B", HOUR), ev("a", "X", 90 * MIN),
                    ev("a", "C", 2 * HOUR))  # fmt: skip
    f = _excluding("A", "B", "C", start=1, end=2)
    assert counts(funnel(f, before)) == [1, 1, 1]
    assert counts(funnel(f, between)) == [0, 0, 0]


def test_multiple_exclusions_are_ored():
    # §2.3: multiple exclusions are OR-ed
    w = world(ev("a", "A"), ev("a", "Y", HOUR), ev("a", "B", 2 * HOUR),
              ev("b", "A"), ev("b", "B", 2 * HOUR))  # fmt: skip
    f = steps("A", "B", exclusions=[
        {"id": "X", "funnel_from_step": 0, "funnel_to_step": 1},
        {"id": "Y", "funnel_from_step": 0, "funnel_to_step": 1},
    ])  # fmt: skip
    assert counts(funnel(f, w)) == [1, 1]


def test_strict_funnels_honour_exclusions():
    # README: strict funnels apply exclusions as ordered ones (PostHog ignores them); here the
    # exclusion ends the strict attempt and falls inside the window, so the attempt is dropped
    w = world(ev("a", "A"), ev("a", "B", HOUR), ev("a", "X", 2 * HOUR))
    f = _excluding("A", "B", "C", start=0, end=2, funnel_order_type="strict")
    assert counts(funnel(f, w)) == [0, 0, 0]
    assert counts(funnel({**f, "exclusions": []}, w)) == [1, 1, 0]


def test_unordered_exclusions():
    # §2.5: an exclusion between the anchor and the last step discards the attempt
    dirty = world(ev("a", "B"), ev("a", "X", HOUR), ev("a", "A", 2 * HOUR))
    clean = world(ev("a", "B"), ev("a", "A", HOUR), ev("a", "X", 2 * HOUR))
    f = _excluding("A", "B", funnel_order_type="unordered")
    # the anchor A at 2h alone is clean: it opens a window with the X before it
    assert counts(funnel(f, dirty)) == [1, 0]
    assert counts(funnel(f, clean)) == [1, 1]


@pytest.mark.parametrize(
    ("exclusion", "order", "message"),
    [
        ({"id": "X", "funnel_from_step": 0}, "ordered",
         "Exclusion event needs to define funnel steps"),
        ({"id": "X", "funnel_from_step": 1, "funnel_to_step": 1}, "ordered",
         "End of range should be greater than start."),
        ({"id": "X", "funnel_from_step": 2, "funnel_to_step": 3}, "ordered",
         "Start of range is greater than number of steps."),
        ({"id": "X", "funnel_from_step": 0, "funnel_to_step": 3}, "ordered",
         "End of range is greater than number of steps."),
        ({"id": "B", "funnel_from_step": 0, "funnel_to_step": 1}, "ordered",
         "Exclusion steps cannot contain an event that's part of funnel steps."),
        ({"id": None, "funnel_from_step": 0, "funnel_to_step": 1}, "ordered",
         "Exclusion steps cannot contain an event that's part of funnel steps."),
        ({"id": "X", "funnel_from_step": 0, "funnel_to_step": 1}, "unordered",
         "Partial Exclusions not allowed in unordered funnels"),
    ],
)  # fmt: skip
def test_exclusion_validation(exclusion, order, message):
    # §1.6: PostHog's messages
    f = steps("A", "B", "C", exclusions=[exclusion], funnel_order_type=order)
    with pytest.raises(FunnelValidationError) as info:
        funnel(f, world())
    assert info.value.attr == "exclusions" and info.value.detail.endswith(message)


def test_exclusion_narrower_than_a_step_is_allowed():
    # §1.6: only an equal or superset exclusion is refused. §2.3: an exclusion event that is also
    # the step-1 event is not strictly before it, so it is harmless; a later one is not
    f = steps("A", "B", exclusions=[{"id": "B", "properties": [{"key": "bad", "value": 1}],
                                     "funnel_from_step": 0, "funnel_to_step": 1}])  # fmt: skip
    first = world(ev("a", "A"), ev("a", "B", HOUR, {"bad": 1}))
    assert counts(funnel(f, first)) == [1, 1]
    ahead = world(ev("a", "A"), ev("a", "Z", MIN, {"bad": 1}), ev("a", "B", HOUR, {"bad": 1}))
    assert counts(funnel(f, ahead)) == [1, 1]


# ---------------------------------------------------------------------------------------------
# §2.4 strict funnels


def test_strict_any_event_in_between_breaks_the_attempt():
    # §2.4: an unrelated event, or the step's event with non-matching properties, in between
    w = world(ev("a", "A"), ev("a", "Z", HOUR), ev("a", "B", 2 * HOUR))
    assert counts(funnel(steps("A", "B", funnel_order_type="strict"), w)) == [1, 0]
    assert counts(funnel(steps("A", "B"), w)) == [1, 1]
    props = world(ev("a", "A"), ev("a", "B", HOUR, {"plan": "free"}),
                  ev("a", "B", 2 * HOUR, {"plan": "pro"}))  # fmt: skip
    f = steps("A", {"id": "B", "properties": [{"key": "plan", "value": "pro"}]},
              funnel_order_type="strict")  # fmt: skip
    assert counts(funnel(f, props)) == [1, 0]


def test_strict_ties_can_be_laid_out_around_the_sequence():
    # README ties for strict funnels: an event tied with the first step can precede it, one
    # tied with the last step can follow it, but nothing may sit strictly between
    f = steps("A", "B", "C", funnel_order_type="strict")
    tied_first = world(ev("a", "Z"), ev("a", "A"), ev("a", "B", HOUR), ev("a", "C", 2 * HOUR))
    tied_last = world(ev("a", "A"), ev("a", "B", HOUR), ev("a", "C", 2 * HOUR),
                      ev("a", "Z", 2 * HOUR))  # fmt: skip
    tied_middle = world(ev("a", "A"), ev("a", "B", HOUR), ev("a", "Z", HOUR),
                        ev("a", "C", 2 * HOUR))  # fmt: skip
    all_tied = world(ev("a", "A"), ev("a", "B"), ev("a", "C"), ev("a", "Z"))
    assert counts(funnel(f, tied_first)) == [1, 1, 1]
    assert counts(funnel(f, tied_last)) == [1, 1, 1]
    assert counts(funnel(f, tied_middle)) == [1, 1, 0]
    assert counts(funnel(f, all_tied)) == [1, 1, 1]


def test_strict_repeated_step_needs_a_later_distinct_event():
    # §2.4 ties as §2.2: A, A needs a strictly later second A
    f = steps("A", "A", funnel_order_type="strict")
    assert counts(funnel(f, world(ev("a", "A"), ev("a", "A")))) == [1, 0]
    assert counts(funnel(f, world(ev("a", "A"), ev("a", "A", SEC)))) == [1, 1]
    # strict steps are consecutive events: one event cannot take two steps
    assert counts(funnel(steps(None, "A", funnel_order_type="strict"),
                         world(ev("a", "A")))) == [1, 0]  # fmt: skip


def test_strict_window():
    # §2.4: window as §2.2
    w = world(ev("a", "A"), ev("a", "B", 15 * DAY))
    assert counts(funnel(steps("A", "B", funnel_order_type="strict"), w)) == [1, 0]


# ---------------------------------------------------------------------------------------------
# §2.5 unordered funnels


def test_unordered_any_order_and_generic_names():
    # §2.5 / §3.1: steps in any order; "Completed k step(s)", null action_id and custom_name
    w = world(ev("a", "C"), ev("a", "A", HOUR), ev("a", "B", 3 * HOUR),
              ev("b", "B"), ev("b", "A", HOUR))  # fmt: skip
    f = steps({"id": "A", "custom_name": "x"}, "B", "C", funnel_order_type="unordered")
    result = funnel(f, w)
    assert counts(result) == [2, 2, 1]
    assert [s["name"] for s in result] == ["Completed 1 step", "Completed 2 steps",
                                           "Completed 3 steps"]  # fmt: skip
    assert {s["action_id"] for s in result} == {None}
    assert {s["custom_name"] for s in result} == {None}
    # §4.1: unordered times are consecutive differences of the sorted step times
    assert result[2]["average_conversion_time"] == 7200


def test_unordered_window_from_the_anchor():
    # §2.5: the other steps must fall within anchor + window
    w = world(ev("a", "C"), ev("a", "A", HOUR), ev("a", "B", 15 * DAY))
    assert counts(funnel(steps("A", "B", "C", funnel_order_type="unordered"), w)) == [1, 1, 0]


def test_unordered_ties_and_repeated_steps():
    # README ties in unordered funnels: a different step may share the anchor's timestamp;
    # identical steps need distinct, strictly later events (not one event twice)
    f = steps("A", "B", funnel_order_type="unordered")
    assert counts(funnel(f, world(ev("a", "A"), ev("a", "B")))) == [1, 1]
    triple = steps("A", "A", "A", funnel_order_type="unordered")
    assert counts(funnel(triple, world(ev("a", "A"), ev("a", "A", HOUR)))) == [1, 1, 0]
    assert counts(funnel(triple, world(ev("a", "A"), ev("a", "A")))) == [1, 0, 0]


# ---------------------------------------------------------------------------------------------
# §4.1 conversion times


def test_average_and_median_over_people():
    # §4.1: mean of per-actor averages; median with interpolation ({3600, 7200} → 5400)
    w = world(ev("a", "A"), ev("a", "B", HOUR), ev("b", "A"), ev("b", "B", 2 * HOUR))
    result = funnel(steps("A", "B"), w)
    assert result[1]["average_conversion_time"] == 5400
    assert result[1]["median_conversion_time"] == 5400


def test_per_actor_average_and_median_over_completions():
    # §4.1: a person who completes several times contributes the mean (and median) of the runs
    w = world(ev("a", "A"), ev("a", "B", HOUR),
              ev("a", "A", DAY), ev("a", "B", DAY + 2 * HOUR),
              ev("a", "A", 2 * DAY), ev("a", "B", 2 * DAY + 6 * HOUR))  # fmt: skip
    result = funnel(steps("A", "B"), w)
    assert result[1]["average_conversion_time"] == 3 * 3600
    assert result[1]["median_conversion_time"] == 2 * 3600


def test_conversion_time_only_for_steps_reached_inside_the_window():
    # README (fixes §4.1 quirk, PostHog #5677): C is within a day of B but not of A
    w = world(ev("a", "A"), ev("a", "B", 20 * HOUR), ev("a", "C", 30 * HOUR),
              ev("b", "A"), ev("b", "B", HOUR), ev("b", "C", 2 * HOUR))  # fmt: skip
    result = funnel(steps("A", "B", "C", funnel_window_interval=1), w)
    assert counts(result) == [2, 2, 1]
    assert result[2]["average_conversion_time"] == 3600
    assert result[1]["average_conversion_time"] == (20 * 3600 + 3600) / 2


def test_conversion_time_in_whole_seconds():
    # §4.1: timestamps truncated to seconds before subtracting
    w = world(ev("a", "A", timedelta(milliseconds=900)), ev("a", "B", timedelta(milliseconds=1100)))
    assert funnel(steps("A", "B"), w)[1]["average_conversion_time"] == 1


# ---------------------------------------------------------------------------------------------
# §4.2 time to convert


def _converters(*gaps: timedelta) -> World:
    events = []
    for i, gap in enumerate(gaps):
        events += [ev(f"p{i}", "A"), ev(f"p{i}", "B", gap)]
    return world(*events)


def test_time_to_convert_worked_example():
    # §4.2.6: samples 2220, 3600, 82800 → 2 bins of 40290 s plus the closing bin
    w = _converters(2220 * SEC, 3600 * SEC, 82800 * SEC)
    result = funnel(steps("A", "B", funnel_viz_type="time_to_convert"), w)
    assert result["bins"] == [[2220, 2], [42510, 0], [82800, 1]]
    assert result["average_conversion_time"] == 29540


def test_time_to_convert_bin_count_and_zero_width():
    # §4.2.3: custom bin_count clamped to [1, 90]; §4.2.4: zero width → 60
    w = _converters(100 * SEC, 100 * SEC)
    result = funnel(steps("A", "B", funnel_viz_type="time_to_convert"), w)
    assert result["bins"] == [[100, 2], [160, 0], [220, 0]]
    many = funnel(steps("A", "B", funnel_viz_type="time_to_convert", bin_count=500),
                  _converters(0 * SEC, 900 * SEC))  # fmt: skip
    assert len(many["bins"]) == 91 and many["bins"][1] == [10, 0] and many["bins"][90] == [900, 1]
    one = funnel(steps("A", "B", funnel_viz_type="time_to_convert", bin_count=0),
                 _converters(0 * SEC, 900 * SEC))  # fmt: skip
    assert one["bins"] == [[0, 1], [900, 1]]


def test_time_to_convert_without_samples():
    # §4.2.2: from 0, to 1, average null
    result = funnel(steps("A", "B", funnel_viz_type="time_to_convert"), world(ev("a", "A")))
    assert result == {"bins": [[0, 0], [1, 0]], "average_conversion_time": None, "_samples": {}}


def test_time_to_convert_step_range():
    # §1.8 / §4.2.1: the sum of per-actor step times from `from`+1 to `to`; only actors who
    # reached `to`; funnel_to_step 0 means N-1
    w = world(ev("a", "A"), ev("a", "B", 10 * SEC), ev("a", "C", 40 * SEC), ev("b", "A"),
              ev("b", "B", 20 * SEC))  # fmt: skip
    base = steps("A", "B", "C", funnel_viz_type="time_to_convert")
    assert funnel({**base, "funnel_to_step": 0}, w)["_samples"] == {"a": 40}
    assert funnel({**base, "funnel_from_step": 1}, w)["_samples"] == {"a": 30}
    assert funnel({**base, "funnel_to_step": 1}, w)["_samples"] == {"a": 10, "b": 20}


def test_time_to_convert_to_step_validation():
    # §1.8: 0 < to < N, with PostHog's message
    f = steps("A", "B", "C", funnel_viz_type="time_to_convert", funnel_to_step=3)
    with pytest.raises(FunnelValidationError, match="can only be one of 1, 2 for time to convert"):
        funnel(f, world())


# ---------------------------------------------------------------------------------------------
# §3.3 trends


def test_trends_per_entrance_period():
    # §3.3: per (actor, period) the best attempt starting in it; zero-filled buckets; README
    # reached_from_step_count / reached_to_step_count beside the rates
    may1 = datetime(2021, 5, 1, 10, tzinfo=UTC)
    w = world(ev("a", "A", may1), ev("a", "B", may1 + HOUR), ev("b", "A", may1),
              ev("b", "A", may1 + 2 * DAY), ev("c", "A", may1 + 2 * DAY),
              ev("c", "B", may1 + 3 * DAY))  # fmt: skip
    f = steps("A", "B", funnel_viz_type="trends", date_from="2021-05-01", date_to="2021-05-04")
    [row] = funnel(f, w)
    assert row["count"] == 4
    assert row["days"] == ["2021-05-01", "2021-05-02", "2021-05-03", "2021-05-04"]
    assert row["labels"] == ["1-May-2021", "2-May-2021", "3-May-2021", "4-May-2021"]
    assert row["reached_from_step_count"] == [2, 0, 2, 0]
    assert row["reached_to_step_count"] == [1, 0, 1, 0]
    assert row["data"] == [50.0, 0, 50.0, 0]
    assert row["_reached_from_people"][2] == {"b", "c"}


def test_trends_step_range_and_rounding():
    # §3.3: from/to steps choose the denominator and numerator; rates rounded to 2 decimals
    events = [ev("a", "A"), ev("a", "B", SEC), ev("a", "C", 2 * SEC)]
    events += [ev(p, "A") for p in "bc"] + [ev(p, "B", SEC) for p in "bc"]
    f = steps("A", "B", "C", funnel_viz_type="trends", funnel_from_step=1, funnel_to_step=2,
              date_from="2021-05-03", date_to="2021-05-03")  # fmt: skip
    [row] = funnel(f, world(*events))
    assert row["reached_from_step_count"] == [3]
    assert row["data"] == [33.33]


def test_trends_back_compat_display():
    # §1.5: no funnel_viz_type, insight FUNNELS, display ActionsLineGraph → trends
    f = steps("A", "B", insight="funnels", display="ActionsLineGraph", date_from="2021-05-03",
              date_to="2021-05-03")  # fmt: skip
    [row] = funnel(f, world(ev("a", "A"), ev("a", "B", SEC)))
    assert row["data"] == [100.0]


def test_trends_breakdown_keeps_other():
    # §3.3 + README: a series per kept value, sorted by value, and the "Other" series is kept
    w = world(ev("a", "A", props={"b": "x"}), ev("a", "A", MIN, {"b": "x"}),
              ev("a", "A", 2 * MIN, {"b": "x"}),
              ev("c", "A", props={"b": "y"}), ev("c", "B", SEC, {"b": "y"}))  # fmt: skip
    f = steps("A", "B", funnel_viz_type="trends", breakdown="b", breakdown_limit=1,
              date_from="2021-05-03", date_to="2021-05-03")  # fmt: skip
    rows = funnel(f, w)
    assert [r["breakdown_value"] for r in rows] == [["Other"], ["x"]]
    assert [r["data"] for r in rows] == [[100.0], [0]]


# ---------------------------------------------------------------------------------------------
# §2.7-2.9 breakdowns


def test_breakdown_series_order_and_missing_values():
    # §2.7.4: series by full conversions first; §1.7 a missing property is ""
    w = world(
        ev("a", "A", props={"$browser": "Chrome"}), ev("a", "B", HOUR, {"$browser": "Chrome"}),
        ev("b", "A", props={"$browser": "Chrome"}), ev("b", "B", HOUR, {"$browser": "Chrome"}),
        ev("c", "A", props={"$browser": "Safari"}), ev("c", "B", HOUR, {"$browser": "Safari"}),
        ev("d", "A", props={"$browser": "Safari"}), ev("e", "A", props={"$browser": "Safari"}),
        ev("f", "A"),
    )  # fmt: skip
    result = funnel(steps("A", "B", breakdown="$browser"), w)
    assert series_counts(result) == [(("Chrome",), [2, 2]), (("Safari",), [3, 1]), (("",), [1, 0])]
    assert result[0][0]["breakdown"] == ["Chrome"]


def test_breakdown_limit_folds_into_other():
    # §2.7.1-2: kept values by event count desc then value desc; the rest become "Other"
    w = world(
        *[ev(p, "A", props={"v": "c"}) for p in "abc"],
        ev("d", "A", props={"v": "f"}), ev("e", "A", props={"v": "s"}), ev("g", "A"),
    )  # fmt: skip
    result = funnel(steps("A", "B", breakdown="v", breakdown_limit=2), w)
    assert series_counts(result) == [(("c",), [3, 0]), (("Other",), [2, 0]), (("s",), [1, 0])]


def test_breakdown_attribution_types():
    # §2.8: first_touch / last_touch / all_events / step
    w = world(ev("a", "A", props={"v": "one"}), ev("a", "B", HOUR, {"v": "two"}))
    base = steps("A", "B", breakdown="v")
    assert series_counts(funnel(base, w)) == [(("one",), [1, 1])]
    last = funnel({**base, "breakdown_attribution_type": "last_touch"}, w)
    assert series_counts(last) == [(("two",), [1, 1])]
    # all_events: the B event carries another value (folded into "Other": only step-0 values
    # are kept), so "one" sees a lone A
    every = funnel({**base, "breakdown_attribution_type": "all_events"}, w)
    assert series_counts(every) == [(("one",), [1, 0])]
    step = {**base, "breakdown_attribution_type": "step", "breakdown_attribution_value": "1"}
    assert series_counts(funnel(step, w)) == [(("two",), [1, 1])]


def test_first_touch_prefers_non_empty_values():
    # §2.8: the earliest funnel-relevant event whose value is non-empty
    w = world(ev("a", "A"), ev("a", "B", HOUR, {"v": "late"}))
    assert series_counts(funnel(steps("A", "B", breakdown="v"), w)) == [(("late",), [1, 1])]


def test_step_attribution_drops_people_without_that_step():
    # §2.8: persons with no event matching step s are dropped; values of all step-s events
    w = world(ev("a", "A", props={"v": "x"}), ev("a", "B", HOUR, {"v": "y"}),
              ev("a", "B", 2 * HOUR, {"v": "z"}), ev("b", "A", props={"v": "x"}))  # fmt: skip
    f = steps("A", "B", breakdown="v", breakdown_attribution_type="step",
              breakdown_attribution_value=1)  # fmt: skip
    assert series_counts(funnel(f, w)) == [(("y",), [1, 1]), (("z",), [1, 1])]
    with pytest.raises(ValueError, match="breakdown_attribution_value"):
        funnel({**f, "breakdown_attribution_value": None}, w)


def test_multi_property_person_and_group_breakdowns():
    # §1.7: list breakdowns give arrays; person properties; group breakdowns are plain strings
    w = world(
        ev("a", "A", props={"os": "mac", "br": "ff"}, person_props={"plan": "pro"},
           groups={0: "acme"}),
    )  # fmt: skip
    w.group_properties[(0, "acme")] = {"industry": "tech"}
    multi = funnel(steps("A", breakdown=["os", "br"]), w)
    assert multi[0][0]["breakdown_value"] == ["mac", "ff"]
    person = funnel(steps("A", breakdown="plan", breakdown_type="person"), w)
    assert person[0][0]["breakdown_value"] == ["pro"]
    group = funnel(steps("A", breakdown="industry", breakdown_type="group",
                         breakdown_group_type_index=0), w)  # fmt: skip
    assert group[0][0]["breakdown_value"] == "tech"
    listed = funnel(steps("A", breakdowns=[{"property": "plan", "type": "person"}]), w)
    assert listed[0][0]["breakdown_value"] == ["pro"]


def test_cohort_breakdown():
    # §2.9: a series per cohort the person is in; "all" = all users with value 0
    w = world(ev("a", "A"), ev("a", "B", HOUR), ev("b", "A"),
              cohorts={7: Cohort(7, person_ids=frozenset({"b"}))})  # fmt: skip
    result = funnel(steps("A", "B", breakdown_type="cohort", breakdown=[7, "all"]), w)
    assert [(s[0]["breakdown_value"], counts(s)) for s in result] == [(0, [2, 1]), (7, [1, 0])]
    assert result[0][0]["breakdown"] == "all users"
    with pytest.raises(ValueError, match="breakdown"):
        funnel(steps("A", breakdown_type="cohort", breakdown=[8]), w)


def test_breakdown_normalize_url():
    # §1.7: trailing `/`, `?`, `#` stripped from $current_url values
    w = world(ev("a", "A", props={"$current_url": "https://x.io/a/"}),
              ev("b", "A", props={"$current_url": "https://x.io/a?"}))  # fmt: skip
    f = steps("A", breakdown="$current_url", breakdown_normalize_url=True)
    assert series_counts(funnel(f, w)) == [(("https://x.io/a",), [2])]


def test_breakdown_unboxing_for_old_clients():
    # §3.6: insight FUNNELS + a string event breakdown → strings instead of one-element lists
    w = world(ev("a", "A", props={"v": "x"}))
    result = funnel(steps("A", breakdown="v", insight="FUNNELS"), w)
    assert result[0][0]["breakdown"] == "x" and result[0][0]["breakdown_value"] == "x"


def test_breakdown_without_data_is_empty():
    # §2.7.5: no data at all → []
    assert funnel(steps("A", breakdown="v"), world(ev("a", "Z"))) == []


# ---------------------------------------------------------------------------------------------
# §2.6 aggregation by group


def test_aggregation_by_group():
    # §2.6: the actor is the event's group key; people of one company complete it together;
    # events without a key form no actor
    w = world(ev("a", "A", groups={0: "acme"}), ev("b", "B", HOUR, groups={0: "acme"}),
              ev("c", "A", groups={0: "init"}), ev("d", "A"))  # fmt: skip
    result = funnel(steps("A", "B", aggregation_group_type_index=0), w)
    assert counts(result) == [2, 1]
    assert result[1]["_converted_people"] == {"acme"}


def test_hogql_aggregation_is_refused():
    # README: HogQL funnel aggregation → 400 naming the field
    with pytest.raises(ValueError, match="funnel_aggregate_by_hogql"):
        funnel(steps("A", funnel_aggregate_by_hogql="properties.$session_id"), world())


# ---------------------------------------------------------------------------------------------
# §5 correlation


def _correlation_world(extra: list[Event] = ()) -> World:
    """s1-s3 do A, X, B (success); f1-f3 do A, Y (failure); person property `plan`."""
    pro, free = {"plan": "pro"}, {"plan": "free"}
    events = []
    for p in ("s1", "s2", "s3"):
        events += [ev(p, "A", person_props=pro), ev(p, "X", MIN, {"color": "red"}, pro),
                   ev(p, "B", HOUR, person_props=pro)]  # fmt: skip
    for p in ("f1", "f2", "f3"):
        events += [ev(p, "A", person_props=free), ev(p, "Y", MIN, person_props=free)]
    return world(*events, *extra)


def _rows(result: dict) -> list[tuple]:
    return [(r["event"]["event"], r["success_count"], r["failure_count"], r["correlation_type"])
            for r in result["events"]]  # fmt: skip


def test_correlation_events():
    # §5.2-5.4: success = completed, odds ratio with prior 1, step names excluded
    result = correlation(steps("A", "B"), _correlation_world())
    assert result["skewed"] is False
    assert _rows(result) == [("X", 3, 0, "success"), ("Y", 0, 3, "failure")]
    assert result["events"][0]["odds_ratio"] == (4 * 4) / (1 * 1)
    assert result["events"][1]["odds_ratio"] == 1 / 16
    assert result["events"][0]["_success_people"] == {"s1", "s2", "s3"}
    excluded = correlation(steps("A", "B", funnel_correlation_exclude_event_names=["X"]),
                           _correlation_world())  # fmt: skip
    assert _rows(excluded) == [("Y", 0, 3, "failure")]


def test_correlation_window_per_actor():
    # §5.3 (b)/(c) and README: only events strictly inside (first step, last step); for a
    # non-converter the window ends at the attempt's window end even if the last step came later
    extra = [ev("f1", "Z", 20 * DAY), ev("f2", "B", 20 * DAY), ev("f2", "W", 16 * DAY),
             ev("f3", "V", 13 * DAY), ev("s1", "U", 2 * HOUR),
             ev("s2", "T", -30 * MIN)]  # fmt: skip
    result = correlation(steps("A", "B"), _correlation_world(extra))
    names = {row[0] for row in _rows(result)}
    assert "V" in names and not names & {"Z", "W", "U", "T"}


def test_correlation_excludes_action_step_event_names():
    # §5.3: the event names an action step is built on are excluded, even for events the action
    # itself rejects (PostHog #7164)
    done = Action(1, "Done", [{"event": "B", "url": "/done"}])
    events = []
    for p in ("s1", "s2", "s3"):
        events += [ev(p, "A"), ev(p, "B", MIN, {"$current_url": "/other"}), ev(p, "X", MIN),
                   ev(p, "B", HOUR, {"$current_url": "/done"})]  # fmt: skip
    for p in ("f1", "f2", "f3"):
        events += [ev(p, "A"), ev(p, "B", MIN, {"$current_url": "/other"})]
    f = {**MAY, "events": [{"id": "A", "order": 0}],
         "actions": [{"id": 1, "type": "actions", "order": 1}]}  # fmt: skip
    result = correlation(f, world(*events, actions={1: done}))
    assert _rows(result) == [("X", 3, 0, "success")]


def test_correlation_skew():
    # §5.2: no successes or no failures → empty and skewed; ratio > 10 → skewed
    assert correlation(steps("A", "Q"), _correlation_world()) == {"events": [], "skewed": True}
    many = [e for i in range(31) for e in (ev(f"x{i}", "A"), ev(f"x{i}", "B", HOUR))]
    assert correlation(steps("A", "B"), _correlation_world(many))["skewed"] is True


def test_correlation_properties():
    # §5.3 properties: `key::value`; a missing explicit property is "" (`$nice::`); an odds
    # ratio of exactly 1 is a failure; exclude names; `$all` only existing properties
    f = steps("A", "B", funnel_correlation_type="properties",
              funnel_correlation_names=["plan", "$nice"])  # fmt: skip
    rows = _rows(correlation(f, _correlation_world()))
    assert rows == [("plan::pro", 3, 0, "success"), ("plan::free", 0, 3, "failure"),
                    ("$nice::", 3, 3, "failure")]  # fmt: skip
    excluded = {**f, "funnel_correlation_exclude_names": ["$nice"]}
    assert len(_rows(correlation(excluded, _correlation_world()))) == 2
    every = {**f, "funnel_correlation_names": ["$all"]}
    assert {r[0] for r in _rows(correlation(every, _correlation_world()))} == {
        "plan::pro",
        "plan::free",
    }


def test_correlation_event_with_properties():
    # §5.3: `event::key::value` over the named events, s + f <= 2 dropped, excluded keys
    extra = [ev("s1", "X", 2 * MIN, {"size": 1}), ev("s2", "X", 2 * MIN, {"size": 1})]
    f = steps("A", "B", funnel_correlation_type="event_with_properties",
              funnel_correlation_event_names=["X"])  # fmt: skip
    assert _rows(correlation(f, _correlation_world(extra))) == [("X::color::red", 3, 0, "success")]
    excluded = {**f, "funnel_correlation_event_exclude_property_names": ["color"]}
    assert _rows(correlation(excluded, _correlation_world(extra))) == []


def test_correlation_autocapture_elements():
    # §5.3 / §5.7: `$autocapture` candidates are the event type and elements chain
    chain = 'button.btn.primary:attr__class="btn primary"nth-child="1"text="Buy";div:attr_id="x"'
    extra = [ev(p, "$autocapture", 2 * MIN, {"$event_type": "click"}, chain=chain)
             for p in ("s1", "s2", "s3")]  # fmt: skip
    f = steps("A", "B", funnel_correlation_type="event_with_properties",
              funnel_correlation_event_names=["$autocapture"])  # fmt: skip
    [row] = correlation(f, _correlation_world(extra))["events"]
    assert row["event"]["event"] == f"$autocapture::elements_chain::click__~~__{chain}"
    assert row["event"]["properties"] == {"$event_type": "click"}
    button, div = row["event"]["elements"]
    assert button["tag_name"] == "button" and button["text"] == "Buy"
    assert button["attr_class"] == ["btn", "primary"] and button["nth_child"] == 1
    assert div["attr_id"] == "x" and div["order"] == 1


def test_correlation_significance_and_top_ten():
    # §5.5: drop s + f < min(25, 0.02 (S + F)); §5.6: top 10 successes then top 10 failures
    events = []
    for i in range(50):
        events += [ev(f"s{i}", "A"), ev(f"s{i}", "B", HOUR), ev(f"f{i}", "A")]
    events += [ev("s0", "lonely", MIN)]  # 1 < 0.02 * 100 = 2 → dropped
    events += [ev("s0", "pair", MIN), ev("s1", "pair", MIN)]  # 2 → kept
    for k in range(12):  # candidates e0..e11 with growing success support
        events += [ev(f"s{i}", f"e{k:02d}", MIN) for i in range(k + 3)]
    result = correlation(steps("A", "B"), world(*events))
    names = [row[0] for row in _rows(result)]
    assert "lonely" not in names
    assert names == [f"e{k:02d}" for k in range(11, 1, -1)]  # the 10 strongest, pair dropped


def test_correlation_validation():
    # §5.1: 400 messages for missing names
    with pytest.raises(FunnelValidationError, match="Property Correlation expects atleast one"):
        correlation(steps("A", "B", funnel_correlation_type="properties"), world())
    with pytest.raises(FunnelValidationError, match="Event Property Correlation expects"):
        correlation(steps("A", "B", funnel_correlation_type="event_with_properties"), world())


def test_funnel_actors_credit_the_earliest_best_attempt():
    # §5.2: the credited attempt gives correlation's first_timestamp
    w = world(ev("a", "A"), ev("a", "B", HOUR), ev("a", "A", DAY), ev("a", "B", DAY + HOUR))
    [(actor, result)] = funnel_actors(steps("A", "B"), w).items()
    assert actor == "a" and result.steps == 2 and result.credited.start.ts == T0


def test_project_timezone_trends_buckets():
    # §3.3: entrance periods in the project timezone
    late = datetime(2021, 5, 3, 23, 30, tzinfo=UTC)  # 4 May in Tokyo
    w = World(events=[ev("a", "A", late), ev("a", "B", late + MIN)], now=NOW,
              project=Project(timezone="Asia/Tokyo"))  # fmt: skip
    f = steps("A", "B", funnel_viz_type="trends", date_from="2021-05-03", date_to="2021-05-04")
    [row] = funnel(f, w)
    assert row["days"] == ["2021-05-03", "2021-05-04"] and row["data"] == [0, 100.0]
