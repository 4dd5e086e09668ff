"""The funnel engine against the oracle (tests/oracles/funnels.py, written from the spec).

A few random event logs are ingested once per module: people with many attempts, steps
repeated back to back, heavy timestamp ties (several events on the same microsecond, or
whole seconds apart), unrelated events in between, merged persons, groups, person and event
properties. Hypothesis varies the funnel — order type, steps (repeated, with property
filters, "All events"), window from seconds to months, exclusions, date range, breakdowns and
attributions, group aggregation, viz type — and the engine's result must equal the oracle's,
including the people behind each step (funnel_actors).
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.errors import ValidationError
from gateway.persons import template as persons_template
from resolvers.funnels import compute_funnel, funnel_actors
from tests.oracles import funnels as oracle
from tests.oracles.funnels import FunnelValidationError
from tests.oracles.model import Action, Event, Project, World

NOW = datetime(2021, 9, 1, tzinfo=UTC)
ANCHOR = datetime(2021, 5, 3, 12, 0, tzinfo=UTC)
NAMES = ["a", "b", "c", "x"]
BROWSERS = ["Chrome", "Safari", "Firefox", None]
PLANS = ["free", "pro", None]
ACTIONS = {
    1: {"name": "a or b", "steps": [{"event": "a"}, {"event": "b"}]},
}
TIMEZONES = ["UTC", "America/New_York", "Asia/Kolkata"]


def _offset(rng: random.Random) -> timedelta:
    """Heavy ties: a handful of instants per scale, from microseconds to months."""
    scale = rng.random()
    if scale < 0.35:
        return timedelta(seconds=rng.randint(0, 4))
    if scale < 0.55:
        return timedelta(minutes=rng.randint(0, 3), seconds=rng.choice([0, 0, 30]))
    if scale < 0.75:
        return timedelta(hours=rng.randint(0, 30))
    if scale < 0.9:
        return timedelta(days=rng.randint(0, 20), hours=rng.choice([0, 12]))
    return timedelta(days=rng.randint(20, 80))


def make_log(seed: int) -> tuple[list[dict], dict]:
    rng = random.Random(seed)
    messages, merges = [], {}
    people = [f"p{seed}-{i}" for i in range(12)]
    for index, person in enumerate(people):
        plan = rng.choice(PLANS)
        heavy = rng.random() < 0.3  # many attempts
        for j in range(rng.randint(1, 30 if heavy else 12)):
            props: dict = {"p": rng.choice(["1", "2"])}
            browser = rng.choice(BROWSERS)
            if browser:
                props["$browser"] = browser
            if rng.random() < 0.6:
                props["$groups"] = {"company": f"c{rng.randint(0, 2)}"}
            if j == 0 and plan:
                props["$set"] = {"plan": plan}
            moment = ANCHOR + _offset(rng)
            weights = [4, 3, 2, 2] if not heavy else [6, 2, 2, 1]
            messages.append({
                "event": rng.choices(NAMES, weights)[0], "distinct_id": person,
                "properties": props, "timestamp": moment.isoformat(),
                "uuid": str(uuid.UUID(int=seed * 100_000 + index * 1000 + j + 1)),
            })  # fmt: skip
            if rng.random() < 0.2:  # a tie on the same microsecond
                tie = uuid.UUID(int=seed * 100_000 + index * 1000 + 999 - j)
                messages.append({**messages[-1], "event": rng.choice(NAMES), "uuid": str(tie)})
    for index in range(2):  # merges: the anonymous person becomes the identified one
        anon, user = people[index], people[-1 - index]
        merges[anon] = user
        messages.append({
            "event": "$identify", "distinct_id": user,
            "properties": {"$anon_distinct_id": anon},
            "timestamp": (ANCHOR - timedelta(days=300 - index)).isoformat(),
            "uuid": str(uuid.UUID(int=seed * 100_000 + 90_000 + index)),
        })  # fmt: skip
    return messages, merges


def world_of(messages: list[dict], merges: dict) -> list[Event]:
    def person(distinct_id: str) -> str:
        return merges.get(distinct_id, distinct_id)

    props: dict[str, dict] = {}
    for m in sorted(messages, key=lambda m: m["timestamp"]):
        props.setdefault(person(m["distinct_id"]), {}).update(m["properties"].get("$set") or {})
    events = []
    for m in messages:
        who = person(m["distinct_id"])
        company = (m["properties"].get("$groups") or {}).get("company")
        events.append(Event(
            uuid=m["uuid"], event=m["event"], distinct_id=m["distinct_id"], person_id=who,
            timestamp=datetime.fromisoformat(m["timestamp"]), properties=m["properties"],
            person_properties={k: v for k, v in props.get(who, {}).items() if v is not None},
            groups={0: company} if company else {},
        ))  # fmt: skip
    return events


class Log(tuple):
    def __repr__(self) -> str:
        return f"<log {self[0]['id']}>"


def ingest_log(spyglass, messages: list[dict], merges: dict, squash_midway=False) -> Log:
    """A fresh project holding the log: (tenant, the oracle's events, distinct id → person)."""
    tenant = spyglass.new_project()
    spyglass.capture(tenant, messages, squash_midway=squash_midway)
    sql = "SELECT distinct_id, toString(person_id) FROM (" + persons_template(
        "persons/distinct_ids.sql") + ")"  # fmt: skip
    uuid_of = dict(spyglass.query(sql, {"project_id": tenant["id"]}).rows)
    return Log((tenant, world_of(messages, merges), uuid_of))


@pytest.fixture(scope="module")
def logs(spyglass):
    # the last log's merges are partly squashed into events (gateway/squash.py)
    return [ingest_log(spyglass, *make_log(seed), squash_midway=seed == 3) for seed in (1, 2, 3)]


def oracle_world(events, timezone: str) -> World:
    return World(
        events=events, now=NOW, project=Project(timezone=timezone),
        actions={i: Action(i, a["name"], a["steps"]) for i, a in ACTIONS.items()},
    )  # fmt: skip


def engine_project(tenant: dict, timezone: str) -> dict:
    return {"id": tenant["id"], "timezone": timezone, "week_start_day": 0,
            "test_account_filters": []}  # fmt: skip


def run_engine(spyglass, project, filters, fn=compute_funnel):
    return spyglass.run(fn(spyglass.services.store, project, filters, now=NOW, actions=ACTIONS))


def strip(value):
    """The oracle's result without its extra `_` keys (people sets, samples)."""
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


PEOPLE_URLS = {"converted_people_url", "dropped_people_url"}


def same(got, want, path: str = "result") -> None:
    """Equal, floats up to rounding (sums in another order)."""
    if isinstance(want, float) and isinstance(got, int | float) and not isinstance(got, bool):
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6):
            raise AssertionError(f"{path}: {got} != {want}")
        return
    if isinstance(want, dict):
        # people URLs are the engine's alone (the oracle emits none; tests/test_people_funnels.py
        # follows them)
        assert isinstance(got, dict) and set(got) - PEOPLE_URLS == set(want), (path, got, want)
        for key in want:
            same(got[key], want[key], f"{path}.{key}")
        return
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (path, got, want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same(g, w, f"{path}[{i}]")
        return
    if got != want:
        raise AssertionError(f"{path}: {got} != {want}")


# -- random requests --------------------------------------------------------------------------

P1 = [{"key": "p", "value": "1", "operator": "exact", "type": "event"}]
ORDERED_ENTITIES = [
    {"id": "a"}, {"id": "a"}, {"id": "b"}, {"id": "b"}, {"id": "c"},
    {"id": "a", "properties": P1}, {"id": None}, {"id": 1, "type": "actions"},
]  # fmt: skip
WINDOWS = [
    {"funnel_window_interval": 1, "funnel_window_interval_unit": "second"},
    {"funnel_window_interval": 3, "funnel_window_interval_unit": "second"},
    {"funnel_window_interval": 1, "funnel_window_interval_unit": "minute"},
    {"funnel_window_interval": 2, "funnel_window_interval_type": "MINUTE"},
    {"funnel_window_interval": 1, "funnel_window_interval_unit": "hour"},
    {"funnel_window_interval": 1, "funnel_window_interval_unit": "day"},
    {"funnel_window_interval": 1, "funnel_window_interval_unit": "week"},
    {"funnel_window_interval": 1, "funnel_window_interval_unit": "month"},
    {"funnel_window_days": 3},
    {},
]
DATE_RANGES = [
    {"date_from": "2021-05-01", "date_to": "2021-08-01"},
    {"date_from": "2021-05-03", "date_to": "2021-05-04"},
    {"date_from": "2021-05-03T12:00:01", "date_to": "2021-05-20", "explicit_date": True},
    {"date_from": "all"},
]
BREAKDOWNS = [
    {"breakdown": "$browser"},
    {"breakdown": "$browser", "breakdown_type": "event", "breakdown_limit": 2},
    {"breakdown": "plan", "breakdown_type": "person"},
    {"breakdowns": [{"property": "$browser", "type": "event"}, {"property": "p", "type": "event"}]},
]  # fmt: skip


def entity(raw: dict, order: int | None = None) -> dict:
    out = {"type": "events", **raw}
    if order is not None:
        out["order"] = order
    return out


@st.composite
def funnels(draw, order_type: str):
    if order_type == "unordered":
        names = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3,
                              unique=True))  # fmt: skip
        steps = [entity({"id": name}) for name in names]
    else:
        # strict: the engine lays tied events onto steps greedily, exact when the steps an
        # event can take are nested (not with "All events" or an action beside its events)
        pool = ORDERED_ENTITIES if order_type == "ordered" else ORDERED_ENTITIES[:-2]
        raws = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=5))
        steps = [entity(r) for r in raws]
    filters: dict = {"insight": "FUNNELS", "funnel_order_type": order_type}
    events = [s for s in steps if s["type"] == "events"]
    actions = [s for s in steps if s["type"] == "actions"]
    filters["events"] = [{**s, "order": i} for i, s in enumerate(steps) if s in events]
    if actions:
        filters["actions"] = [{**s, "order": i} for i, s in enumerate(steps) if s in actions]
    filters.update(draw(st.sampled_from(WINDOWS)))
    filters.update(draw(st.sampled_from(DATE_RANGES)))
    n = len(steps)
    if n > 1 and draw(st.integers(0, 2)) == 0:
        if order_type == "unordered":
            start, end = 0, n - 1
        else:
            start = draw(st.integers(0, n - 2))
            end = draw(st.integers(start + 1, n - 1))
        name = draw(st.sampled_from(["x", "x", "c"]))
        filters["exclusions"] = [{"id": name, "type": "events", "funnel_from_step": start,
                                  "funnel_to_step": end}]  # fmt: skip
    viz = draw(st.sampled_from(["steps", "steps", "steps", "trends", "time_to_convert"]))
    if viz != "steps":
        filters["funnel_viz_type"] = viz
    if viz == "trends":
        filters["interval"] = draw(st.sampled_from(["day", "week", "hour"]))
        if filters.get("date_from") == "all" or filters["interval"] == "hour":
            filters.update({"date_from": "2021-05-03", "date_to": "2021-05-05"})
        if n > 1:
            filters["funnel_from_step"] = draw(st.integers(0, n - 2))
            filters["funnel_to_step"] = draw(st.integers(filters["funnel_from_step"] + 1, n - 1))
    if viz == "time_to_convert" and n > 1:
        filters["funnel_to_step"] = draw(st.integers(1, n - 1))
        if draw(st.booleans()):
            filters["bin_count"] = draw(st.integers(1, 8))
    if viz != "time_to_convert" and draw(st.integers(0, 2)) == 0:
        filters.update(draw(st.sampled_from(BREAKDOWNS)))
        attribution = draw(st.sampled_from(["first_touch", "last_touch", "all_events", "step"]))
        filters["breakdown_attribution_type"] = attribution
        if attribution == "step":
            filters["breakdown_attribution_value"] = draw(st.integers(0, n - 1))
    if draw(st.integers(0, 5)) == 0:
        filters["aggregation_group_type_index"] = 0
    if draw(st.integers(0, 5)) == 0:
        filters["properties"] = [{"key": "$browser", "value": "Safari", "operator": "is_not"}]
    return filters


def check(spyglass, logs, filters, which, timezone, compare_people):
    tenant, events, uuid_of = logs[which]
    world = oracle_world(events, timezone)
    project = engine_project(tenant, timezone)
    try:
        expected = oracle.funnel(filters, world)
    except FunnelValidationError as error:
        event("refused")
        with pytest.raises(ValidationError) as caught:
            run_engine(spyglass, project, filters)
        assert caught.value.attr == error.attr, (filters, caught.value.detail, error.detail)
        return
    got = run_engine(spyglass, project, filters)
    viz = filters.get("funnel_viz_type", "steps")
    breakdown = "breakdown" in filters or "breakdowns" in filters
    event(f"viz {viz}{' + breakdown' if breakdown else ''}")
    same(got, strip(expected), f"{filters} on log {which} in {timezone}: result")
    if viz == "steps" and not breakdown and expected:
        furthest = expected[-1]["count"]
        event(f"full conversions: {'none' if not furthest else 'some'}")
        has_times = any(s["average_conversion_time"] is not None for s in expected)
        event(f"conversion times: {'yes' if has_times else 'no'}")
        if compare_people:
            want = oracle.funnel_actors(filters, world)
            actors = run_engine(spyglass, project, filters, funnel_actors).get(None, {})
            to_engine = (lambda a: a) if "aggregation_group_type_index" in filters else (
                uuid_of.get)  # fmt: skip
            assert {a: r[0] for a, r in actors.items()} == {
                to_engine(a): r.steps for a, r in want.items()
            }, filters
            assert {a: r[1] for a, r in actors.items()} == {
                to_engine(a): r.credited.start.ts for a, r in want.items()
            }, filters


SETTINGS = settings(max_examples=500, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@SETTINGS
@given(
    filters=funnels("ordered"),
    which=st.integers(0, 2),
    timezone=st.sampled_from(TIMEZONES),
    people=st.integers(0, 3),
)
def test_ordered_funnels_match_the_oracle(spyglass, logs, filters, which, timezone, people):
    check(spyglass, logs, filters, which, timezone, people == 0)


@SETTINGS
@given(
    filters=funnels("strict"),
    which=st.integers(0, 2),
    timezone=st.sampled_from(TIMEZONES),
    people=st.integers(0, 3),
)
def test_strict_funnels_match_the_oracle(spyglass, logs, filters, which, timezone, people):
    check(spyglass, logs, filters, which, timezone, people == 0)


@SETTINGS
@given(
    filters=funnels("unordered"),
    which=st.integers(0, 2),
    timezone=st.sampled_from(TIMEZONES),
    people=st.integers(0, 3),
)
def test_unordered_funnels_match_the_oracle(spyglass, logs, filters, which, timezone, people):
    check(spyglass, logs, filters, which, timezone, people == 0)


# -- spec examples ----------------------------------------------------------------------------


def ingest(spyglass, tenant, rows):
    batch = [{"event": ev, "distinct_id": who, "timestamp": ts, "properties": props or {}}
             for who, ts, ev, props in rows]  # fmt: skip
    r = httpx.post(spyglass.url + "/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200, r.text


MAY = {"date_from": "2021-05-01", "date_to": "2021-05-31"}
TWO = {"events": [{"id": "signup", "order": 0}, {"id": "pay", "order": 1}], **MAY}


def test_time_to_convert_worked_example(spyglass, tenant):
    # §4.2.6: samples 2220, 3600, 82800 → bins [[2220,2],[42510,0],[82800,1]], average 29540
    rows = []
    for who, gap in (("p1", 2220), ("p2", 3600), ("p3", 82800)):
        paid = (ANCHOR + timedelta(hours=-2, seconds=gap)).isoformat()
        rows += [(who, "2021-05-03T10:00:00Z", "signup", None), (who, paid, "pay", None)]
    ingest(spyglass, tenant, rows)
    filters = {**TWO, "funnel_viz_type": "time_to_convert", "funnel_window_days": 2}
    got = run_engine(spyglass, engine_project(tenant, "UTC"), filters)
    assert got == {"bins": [[2220, 2], [42510, 0], [82800, 1]], "average_conversion_time": 29540}


def test_median_interpolates_and_ties_convert(spyglass, tenant):
    # §4.1: the median of {3600, 7200} is 5400; README ties: a different step may share the
    # timestamp of the step before it, a repeated identical step needs a strictly later event
    ingest(spyglass, tenant, [
        ("p1", "2021-05-03T10:00:00Z", "signup", None), ("p1", "2021-05-03T11:00:00Z", "pay", None),
        ("p2", "2021-05-03T10:00:00Z", "signup", None), ("p2", "2021-05-03T12:00:00Z", "pay", None),
        ("p3", "2021-05-04T10:00:00Z", "signup", None), ("p3", "2021-05-04T10:00:00Z", "pay", None),
    ])  # fmt: skip
    project = engine_project(tenant, "UTC")
    steps = run_engine(spyglass, project, {**TWO, "funnel_window_days": 1})
    assert [s["count"] for s in steps] == [3, 3]
    assert steps[1]["median_conversion_time"] == 3600.0  # 0, 3600, 7200
    repeated = {"events": [{"id": "pay", "order": 0}, {"id": "pay", "order": 1}], **MAY}
    assert [s["count"] for s in run_engine(spyglass, project, repeated)] == [3, 0]
    two = {**TWO, "properties": [{"key": "$browser", "value": "x", "operator": "is_not"}]}
    no_p3 = run_engine(spyglass, project, {**two, "date_to": "2021-05-03"})
    assert no_p3[1]["median_conversion_time"] == 5400.0


def test_strict_exclusions_apply_and_bad_ranges_are_refused(spyglass, tenant):
    # README: strict funnels honour exclusions; §1.6 messages
    ingest(spyglass, tenant, [
        ("p1", "2021-05-03T10:00:00Z", "signup", None),
        ("p1", "2021-05-03T10:30:00Z", "oops", None),
        ("p1", "2021-05-03T11:00:00Z", "pay", None),
    ])  # fmt: skip
    project = engine_project(tenant, "UTC")
    strict = {**TWO, "funnel_order_type": "strict"}
    assert [s["count"] for s in run_engine(spyglass, project, strict)] == [1, 0]
    oops = [{"id": "oops", "funnel_from_step": 0, "funnel_to_step": 1}]
    excluded = {**strict, "exclusions": oops}
    assert [s["count"] for s in run_engine(spyglass, project, excluded)] == [0, 0]
    bad = {**TWO, "exclusions": [{"id": "pay", "funnel_from_step": 0, "funnel_to_step": 1}]}
    with pytest.raises(ValidationError) as caught:
        run_engine(spyglass, project, bad)
    assert caught.value.detail == (
        "Exclusion steps cannot contain an event that's part of funnel steps."
    )
