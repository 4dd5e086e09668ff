"""The trends engine against the oracle: random event logs, random trend requests.

A few random logs (dozens of people merged by $identify, person and group properties, sessions,
timestamps with ties, DST changes in New York and London) are ingested once per module into
projects in several timezones; hypothesis draws requests (intervals, maths, displays,
breakdowns with limit/other, formula, compare, cumulative, smoothing, stickiness, lifecycle)
and the engine's `result` must equal what tests/oracles/trends.py computes from the spec.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.errors import ValidationError
from resolvers.cohorts import Cohorts
from resolvers.trends import compute_trends
from tests.oracles import trends as oracle
from tests.oracles.model import Action, Event, Project, World
from tests.test_filters_oracle import make_cohorts

# Two seasons, each spanning a DST change in both New York and London.
SEASONS = {
    "spring": datetime(2026, 3, 1, 0, tzinfo=UTC),  # NY Mar 8, London Mar 29
    "autumn": datetime(2026, 10, 20, 0, tzinfo=UTC),  # London Oct 25, NY Nov 1
}
SPAN_DAYS = 30
PROJECTS = [("UTC", 0), ("America/New_York", 1), ("Europe/London", 0)]
EVENTS = ["$pageview", "click", "signed_up"]
B_VALUES = ["red", "blue", "green", "", "Red", "ünï", "x y", "7", 2, 5.5, True, None]
URLS = ["https://a.io/", "https://a.io", "https://a.io/?", "/p/1#", "/p/1", "/", "https://b.io/x/"]
NUMBERS = [0, 1, 2, 3, 5, 8, -1, 2.5, 10.25, "7", "4.5", "x", True, None]
PLANS = ["free", "pro", "team", ""]


def make_log(seed: int, base: datetime) -> tuple[list[dict], dict]:
    """Capture messages (with ties and merges) and the $identify merges."""
    rng = random.Random(seed)
    messages, merges = [], {}
    people = [f"anon-{i}" for i in range(30)]
    slots = [base + timedelta(minutes=rng.randint(0, SPAN_DAYS * 24 * 60)) for _ in range(140)]
    slots += [base + timedelta(days=d) for d in range(SPAN_DAYS)]  # exact midnights (UTC)
    for i in range(rng.randint(150, 260)):
        moment = rng.choice(slots)
        anon = rng.choice(people[: rng.randint(5, 30)])
        props: dict = {}
        if rng.random() < 0.75:
            props["b"] = rng.choice(B_VALUES)
        if rng.random() < 0.6:
            props["n"] = rng.choice(NUMBERS)
        if rng.random() < 0.4:
            props["$current_url"] = rng.choice(URLS)
        if rng.random() < 0.8:
            props["$session_id"] = f"s{rng.randint(0, 15)}"
        if rng.random() < 0.5:
            props["$groups"] = {"company": f"c{rng.randint(0, 4)}"}
        event_name, distinct_id = rng.choice(EVENTS), anon
        if rng.random() < 0.15:
            # Property writes get a unique microsecond so "latest $set" has no ties.
            moment = moment + timedelta(microseconds=i + 1)
            props["$set"] = {"plan": rng.choice(PLANS)}
            if rng.random() < 0.5:
                props["$set"]["age"] = rng.choice([20, 30, 41])
        if rng.random() < 0.06 and anon not in merges:
            user = f"user-{rng.randint(0, 4)}"
            merges[anon] = user
            event_name, distinct_id = "$identify", user
            props["$anon_distinct_id"] = anon
            moment = moment + timedelta(microseconds=i + 1)
        messages.append({"event": event_name, "distinct_id": distinct_id, "properties": props,
                         "timestamp": moment.isoformat(),
                         "uuid": str(uuid.UUID(int=i + 1))})  # fmt: skip
    for key in range(5):
        messages.append({
            "event": "$groupidentify", "distinct_id": "admin",
            "timestamp": (base + timedelta(seconds=key + 1, microseconds=7)).isoformat(),
            "uuid": str(uuid.UUID(int=10_000 + key)),
            "properties": {"$group_type": "company", "$group_key": f"c{key}",
                           "$group_set": {"industry": rng.choice(["tech", "retail", 3])}},
        })  # fmt: skip
    return messages, merges


def world_of(messages: list[dict], merges: dict, project: Project, now: datetime) -> World:
    def person(distinct_id: str) -> str:
        return merges.get(distinct_id, distinct_id)

    props: dict[str, dict] = {}
    for m in sorted(messages, key=lambda m: m["timestamp"]):
        props.setdefault(person(m["distinct_id"]), {}).update(m["properties"].get("$set") or {})
    groups = {}
    for m in messages:
        if m["event"] == "$groupidentify":
            p = m["properties"]
            groups[(0, p["$group_key"])] = p["$group_set"]
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
    return World(events=events, project=project, now=now, group_properties=groups)


class Dataset:
    def __init__(self, name, project: dict, world: World, actions: dict):
        self.name, self.project, self.world, self.actions = name, project, world, actions
        self.cohorts: dict = {}  # id → cohort document, for the engine

    def __repr__(self) -> str:
        return f"<dataset {self.name}>"


TEST_ACCOUNT_FILTERS = [{"key": "plan", "value": "team", "operator": "is_not", "type": "person"}]


@pytest.fixture(scope="module")
def datasets(spyglass) -> list[Dataset]:
    out = []
    for season, base in SEASONS.items():
        messages, merges = make_log(seed=len(season) * 7 + base.month, base=base)
        now = base + timedelta(days=SPAN_DAYS - 3, hours=13, minutes=17)
        for i, (timezone, week_start_day) in enumerate(PROJECTS):
            tenant = spyglass.new_project()
            # every other project has its merges partly squashed into events
            spyglass.capture(tenant, messages, squash_midway=i % 2 == 1)
            model = Project(timezone=timezone, week_start_day=week_start_day,
                            test_account_filters=TEST_ACCOUNT_FILTERS)  # fmt: skip
            project = {"id": tenant["id"], "timezone": timezone, "week_start_day": week_start_day,
                       "test_account_filters": TEST_ACCOUNT_FILTERS}  # fmt: skip
            world = world_of(messages, merges, model, now)
            world.actions = {i: Action(i, a["name"], a["steps"]) for i, a in ACTIONS.items()}
            dataset = Dataset(f"{season}/{timezone}", project, world, ACTIONS)
            make_cohorts(spyglass, tenant, world, merges)
            made = spyglass.run(Cohorts(spyglass.services.metadata).by_id(tenant["id"]))
            # The model's cohorts have no names, so the oracle labels them by id: so must we.
            dataset.cohorts = {i: {**c, "name": None} for i, c in made.items()}
            out.append(dataset)
    return out


# -- comparing results ----------------------------------------------------------------------


def _close(a, b) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _same(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key in ("filter", "url") and path.count(".") == 0:
                continue
            if key == "url":
                continue
            if key not in a or key not in b:
                out.append(f"{path}.{key}: missing in {'engine' if key not in a else 'oracle'}")
                continue
            out.extend(_same(a[key], b[key], f"{path}.{key}"))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}: {a!r:.300} vs {b!r:.300}"]
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out.extend(_same(x, y, f"{path}[{i}]"))
        return out
    return [] if _close(a, b) else [f"{path}: engine {a!r} != oracle {b!r}"]


def _rank(item: dict) -> tuple:
    return (item.get("label"), item.get("compare_label"), item.get("status"))


def compare(engine: list[dict], expected: list[dict]) -> None:
    """Equal results; items whose order the oracle decides by near-equal floats may swap."""
    ranks = [_rank(i) for i in engine], [_rank(i) for i in expected]
    assert len(engine) == len(expected), (
        f"engine only {sorted(set(ranks[0]) - set(ranks[1]), key=str)}, "
        f"oracle only {sorted(set(ranks[1]) - set(ranks[0]), key=str)}: "
        f"{[(i['label'], i.get('count'), i.get('aggregated_value')) for i in expected]}"
    )
    problems = []
    for i, (got, want) in enumerate(zip(engine, expected, strict=True)):
        diff = _same(got, want, f"[{i}]")
        if diff and _rank(got) != _rank(want):
            # Ties broken by float noise: find the oracle's item with the same label.
            twins = [w for w in expected if _rank(w) == _rank(got)]
            if twins and not _same(got, twins[0]):
                continue
        problems.extend(diff)
    assert not problems, problems[:8]


def run_both(spyglass, ds: Dataset, request: dict):
    """(engine result or error attr, oracle result or error field)."""
    try:
        got = spyglass.run(compute_trends(spyglass.services.store, ds.project, request,
                                          now=ds.world.now, actions=ds.actions,
                                          cohorts=ds.cohorts))  # fmt: skip
    except ValidationError as exc:
        got = ("error", exc.attr)
    try:
        want = oracle.trends(request, ds.world)
    except ValueError as exc:
        want = ("error", str(exc).split(":")[0])
    return got, want


def check(spyglass, ds: Dataset, request: dict) -> list[dict]:
    got, want = run_both(spyglass, ds, request)
    if isinstance(want, tuple) or isinstance(got, tuple):
        assert got == want, (got, want if isinstance(want, tuple) else "a result")
        event("error")
        return []
    compare(got, want)
    return got


def test_smoke(spyglass, datasets):
    ds = datasets[0]
    request = {"events": [{"id": "$pageview"}], "date_from": "-14d"}
    result = check(spyglass, ds, request)
    assert result and sum(result[0]["data"]) > 0


# -- random requests ------------------------------------------------------------------------

RED = [{"key": "b", "value": "red", "type": "event"}]
STEPS = [{"event": "click"}, {"event": "signed_up", "properties": RED}]
ACTIONS = {1: {"name": "Clicked or red sign-up", "steps": STEPS}}
MATHS = ["total", "dau", "weekly_active", "monthly_active", "unique_group", "unique_session",
         "sum", "avg", "min", "max", "median", "p90", "p95", "p99", "avg_count_per_actor",
         "max_count_per_actor", "median_count_per_actor"]  # fmt: skip
ENTITY_PROPERTIES = [
    [{"key": "b", "value": "red", "operator": "is_not"}],
    [{"key": "n", "value": 1, "operator": "gt"}],
    [{"key": "plan", "value": "pro", "type": "person"}],
]
GLOBAL_PROPERTIES = [
    [{"key": "$session_id", "operator": "is_set"}],
    {
        "type": "OR",
        "values": [
            {"key": "b", "value": ["blue", "green"]},
            {"key": "plan", "value": "free", "type": "person"},
        ],
    },  # fmt: skip
    [{"key": "industry", "value": "tech", "type": "group", "group_type_index": 0}],
]
DISPLAYS = ["ActionsLineGraph", "ActionsLineGraph", "ActionsBar", "ActionsLineGraphCumulative",
            "ActionsTable", "ActionsPie", "BoldNumber", "WorldMap"]  # fmt: skip
BREAKDOWNS = [
    {"breakdown": "b"},
    {"breakdown": "b", "breakdown_type": "event"},
    {"breakdown": "$current_url", "breakdown_normalize_url": True},
    {"breakdown": "$current_url"},
    {"breakdown": "plan", "breakdown_type": "person"},
    {"breakdown": "age", "breakdown_type": "person"},
    {"breakdown": "industry", "breakdown_type": "group", "breakdown_group_type_index": 0},
    {"breakdown": "$session_duration", "breakdown_type": "session"},
    {"breakdown": "COHORTS", "breakdown_type": "cohort"},  # drawn from the dataset's cohorts
    {"breakdown": "n", "breakdown_histogram_bin_count": 3},
    {"breakdowns": [{"property": "b"}, {"property": "plan", "type": "person"}]},
    {
        "breakdowns": [
            {"property": "$current_url", "normalize_url": True},
            {"property": "industry", "type": "group", "group_type_index": 0},
        ]
    },
    {"breakdown": "age", "breakdown_type": "person", "breakdown_histogram_bin_count": 4},
]
FORMULAS = {1: ["A * 2", "-A + 3", "A / 0", "(A)/2"],
            2: ["A + B", "A / B", "(A - B) * 2", "B - A", "A/B*100"],
            3: ["A + B - C", "(A + B) / C", "C * 1.5"]}  # fmt: skip
BAD_FORMULAS = ["A +", "D", "A B", "2A", "(A", "A ^ 2", ""]


def day_string(ds_base: datetime, offset: int) -> str:
    return (ds_base + timedelta(days=offset)).strftime("%Y-%m-%d")


@st.composite
def date_range(draw, interval: str, base: datetime):
    if interval == "hour":
        choice = draw(st.sampled_from(["-24h", "-48h", "dStart", "-2d", "abs", "abs_time"]))
        if choice == "abs":
            start = draw(st.integers(0, SPAN_DAYS - 3))
            return {"date_from": day_string(base, start),
                    "date_to": day_string(base, start + draw(st.integers(0, 2)))}  # fmt: skip
        if choice == "abs_time":
            start = base + timedelta(days=draw(st.integers(0, SPAN_DAYS - 3)),
                                     hours=draw(st.integers(0, 23)))  # fmt: skip
            end = start + timedelta(hours=draw(st.integers(0, 40)), minutes=30)
            return {"date_from": start.strftime("%Y-%m-%d %H:%M:%S"),
                    "date_to": end.strftime("%Y-%m-%d %H:%M:%S")}  # fmt: skip
        return {"date_from": choice}
    choice = draw(st.sampled_from(["-7d", "-14d", "-30d", "mStart", "-1mStart", "all", "-24h",
                                   "dStart", "abs", "abs", "abs", None]))  # fmt: skip
    if choice == "abs":
        start = draw(st.integers(-3, SPAN_DAYS - 1))
        return {"date_from": day_string(base, start),
                "date_to": day_string(base, start + draw(st.integers(0, 20)))}  # fmt: skip
    if choice is None:
        return {}
    return {"date_from": choice}


@st.composite
def entity(draw):
    if draw(st.integers(0, 9)) == 0:
        out = {"id": 1, "type": "actions"}
    else:
        out = {"id": draw(st.sampled_from(["$pageview", "$pageview", "click", "signed_up", None]))}
    math_name = draw(st.sampled_from(MATHS))
    if math_name != "total" or draw(st.booleans()):
        out["math"] = math_name
    if math_name in oracle.PROPERTY_MATHS:
        out["math_property"] = draw(st.sampled_from(["n", "n", "$session_duration"]))
    if math_name == "unique_group" or (
        math_name in ("weekly_active", "avg_count_per_actor", "max_count_per_actor")
        and draw(st.integers(0, 3)) == 0
    ):
        out["math_group_type_index"] = 0
    if draw(st.integers(0, 4)) == 0:
        out["properties"] = draw(st.sampled_from(ENTITY_PROPERTIES))
    return out


@st.composite
def trend_request(draw, base: datetime):
    interval = draw(st.sampled_from(["day", "day", "hour", "week", "month"]))
    entities = draw(st.lists(entity(), min_size=1, max_size=3))
    request: dict = {"interval": interval, **draw(date_range(interval, base))}
    actions = [e for e in entities if e.get("type") == "actions"]
    events = [e for e in entities if e.get("type") != "actions"]
    if events:
        request["events"] = events
    if actions:
        request["actions"] = actions
    for i, e in enumerate(entities):
        if draw(st.integers(0, 3)) == 0:
            e["order"] = len(entities) - i
    request["display"] = draw(st.sampled_from(DISPLAYS))
    if draw(st.booleans()):
        request.update(draw(st.sampled_from(BREAKDOWNS)))
        if draw(st.booleans()):
            request["breakdown_limit"] = draw(st.integers(1, 4))
        if draw(st.integers(0, 3)) == 0:
            request["breakdown_hide_other_aggregation"] = True
        if draw(st.integers(0, 5)) == 0:
            request["offset"] = draw(st.integers(1, 2))
    if draw(st.integers(0, 3)) == 0:
        request["formula"] = draw(st.sampled_from(FORMULAS[len(entities)]))
    if draw(st.integers(0, 3)) == 0:
        request["compare"] = True
    if draw(st.integers(0, 5)) == 0:
        request["smoothing_intervals"] = draw(st.integers(2, 4))
    if draw(st.integers(0, 4)) == 0:
        request["properties"] = draw(st.sampled_from(GLOBAL_PROPERTIES))
    if draw(st.integers(0, 5)) == 0:
        request["filter_test_accounts"] = True
    return request


def describe(request: dict) -> None:
    maths = sorted({e.get("math") or "total" for e in request.get("events", [])
                    + request.get("actions", [])})  # fmt: skip
    event(f"interval={request['interval']}")
    event(f"display={request['display']}")
    for m in maths:
        event(f"math={m}")
    if "breakdowns" in request:
        event("breakdowns (multiple)")
    if "breakdown" in request:
        event(f"breakdown={request.get('breakdown_type', 'event')}")
        if request.get("breakdown_histogram_bin_count"):
            event("breakdown histogram")
    for key in ("formula", "compare", "smoothing_intervals", "properties"):
        if key in request:
            event(key)


SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])  # fmt: skip


@settings(SLOW, max_examples=500)
@given(data=st.data(), which=st.integers(0, len(SEASONS) * len(PROJECTS) - 1))
def test_trends_match_the_oracle(spyglass, datasets, data, which):
    ds = datasets[which]
    season_base = SEASONS[ds.name.split("/")[0]]
    request = data.draw(trend_request(season_base))
    if request.get("breakdown") == "COHORTS":
        choices = st.sampled_from(["all", *sorted(ds.cohorts)])
        request["breakdown"] = data.draw(st.lists(choices, min_size=1, max_size=3, unique=True))
    describe(request)
    result = check(spyglass, ds, request)
    event(f"series: {min(len(result), 6)}{'+' if len(result) >= 6 else ''}")


@st.composite
def sticky_request(draw, base: datetime, kind: str):
    interval = draw(st.sampled_from(["day", "day", "hour", "week", "month"]))
    request: dict = {"insight": kind, "interval": interval, **draw(date_range(interval, base))}
    entities = draw(st.lists(entity(), min_size=1, max_size=2 if kind == "STICKINESS" else 1))
    request["events"] = [e for e in entities if e.get("type") != "actions"]
    request["actions"] = [e for e in entities if e.get("type") == "actions"]
    if kind == "STICKINESS" and draw(st.integers(0, 3)) == 0:
        request["compare"] = True
    if kind == "STICKINESS" and draw(st.integers(0, 5)) == 0:
        request["aggregation_group_type_index"] = 0
    if draw(st.integers(0, 4)) == 0:
        request["properties"] = draw(st.sampled_from(GLOBAL_PROPERTIES))
    if draw(st.integers(0, 5)) == 0:
        request["filter_test_accounts"] = True
    if kind == "LIFECYCLE" and draw(st.booleans()):
        request.pop("insight")
        request["shown_as"] = "Lifecycle"
    return request


@settings(SLOW, max_examples=500)
@given(data=st.data(), which=st.integers(0, len(SEASONS) * len(PROJECTS) - 1))
def test_stickiness_matches_the_oracle(spyglass, datasets, data, which):
    ds = datasets[which]
    request = data.draw(sticky_request(SEASONS[ds.name.split("/")[0]], "STICKINESS"))
    event(f"interval={request['interval']}")
    result = check(spyglass, ds, request)
    event(f"actors: {min(int(sum(r['count'] for r in result)), 30) // 10 * 10}+")


@settings(SLOW, max_examples=500)
@given(data=st.data(), which=st.integers(0, len(SEASONS) * len(PROJECTS) - 1))
def test_lifecycle_matches_the_oracle(spyglass, datasets, data, which):
    ds = datasets[which]
    request = data.draw(sticky_request(SEASONS[ds.name.split("/")[0]], "LIFECYCLE"))
    event(f"interval={request['interval']}")
    result = check(spyglass, ds, request)
    for item in result:
        if any(item["data"]):
            event(f"status {item['status']} seen")
