"""The retention engine against the oracle (tests/oracles/retention.py, written from the spec).

A few random event logs are ingested once per module, each clustered around a DST change or a
month boundary, with events placed exactly on local midnights and hour starts, ties, merged
persons, groups and person properties. Hypothesis then varies the request — timezone, week
start, period, window, first-time or recurring, entities and actions, property filters, test
accounts, breakdowns, group aggregation — and the engine's rows must equal the oracle's; on
some examples the people behind one cohort are compared too.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.errors import ValidationError
from gateway.persons import template
from resolvers.retention import compute_retention, retention_people
from tests.oracles import retention as oracle
from tests.oracles.model import Action, Event, Project, World

NOW = datetime(2022, 6, 1, 12, tzinfo=UTC)
TIMEZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata",
             "America/Los_Angeles"]  # fmt: skip
# Each log clusters around one moment: a DST change or a month/year boundary (UTC).
ANCHORS = [
    datetime(2021, 3, 14, 7, tzinfo=UTC),  # New York springs forward
    datetime(2021, 10, 31, 1, tzinfo=UTC),  # London falls back; October ends
    datetime(2021, 4, 3, 16, tzinfo=UTC),  # Sydney falls back
]
URLS = ["/", "/pricing", "/docs/", "/blog/1"]
BROWSERS = ["Chrome", "Safari", "Firefox", None]
PLANS = ["free", "pro", 3, True, None]
TEST_ACCOUNTS = [{"key": "email", "operator": "not_icontains", "value": "posthog.com",
                  "type": "person"}]  # fmt: skip
ACTIONS = {
    1: {"steps": [{"event": "$pageview", "url": "/pricing", "url_matching": "contains"}]},
    2: {"steps": [{"event": "signed_up"},
                  {"event": "click", "properties": [{"key": "$browser", "value": "Chrome",
                                                     "operator": "exact", "type": "event"}]}]},
}  # fmt: skip


def _moment(rng: random.Random, anchor: datetime) -> datetime:
    roll = rng.random()
    if roll < 0.15:  # exactly on a local midnight or hour start of some timezone
        tz = ZoneInfo(rng.choice(TIMEZONES))
        local = (anchor + timedelta(days=rng.randint(-20, 40))).astimezone(tz)
        local = local.replace(minute=0, second=0, microsecond=0)
        if rng.random() < 0.6:
            local = local.replace(hour=0)
        return local.astimezone(UTC)
    if roll < 0.45:
        return anchor + timedelta(minutes=rng.randint(-600, 1800))
    if roll < 0.75:
        return anchor + timedelta(hours=rng.randint(-24 * 5, 24 * 20), minutes=rng.randint(0, 59))
    if roll < 0.88:
        return anchor + timedelta(days=rng.randint(-20, 70), seconds=rng.randint(0, 86399))
    return anchor + timedelta(days=rng.randint(-130, 150), seconds=rng.randint(0, 86399))


def make_log(seed: int, anchor: datetime) -> tuple[list[dict], dict]:
    rng = random.Random(seed)
    messages, merges = [], {}
    people = [f"p{seed}-{i}" for i in range(24)]
    for index, person in enumerate(people):
        email = rng.choice(["a@example.com", "b@posthog.com", None])
        plan = rng.choice(PLANS)
        for j in range(rng.randint(2, 30)):
            moment = _moment(rng, anchor)
            props: dict = {"$current_url": rng.choice(URLS)}
            browser = rng.choice(BROWSERS)
            if browser:
                props["$browser"] = browser
            if rng.random() < 0.6:
                props["$groups"] = {"company": f"c{rng.randint(0, 3)}"}
            if j == 0:
                props["$set"] = {"plan": plan, **({"email": email} if email else {})}
            messages.append({
                "event": rng.choice(["$pageview", "$pageview", "signed_up", "click"]),
                "distinct_id": person, "properties": props, "timestamp": moment.isoformat(),
                "uuid": str(uuid.UUID(int=seed * 10_000 + index * 100 + j + 1)),
            })  # fmt: skip
            if rng.random() < 0.15:  # a tie: same person, same instant
                tie = uuid.UUID(int=seed * 10_000 + index * 100 + 99 - j)
                messages.append({**messages[-1], "event": "click", "uuid": str(tie)})
    for index in range(3):  # merges: the anonymous person becomes the identified one
        anon, user = people[index], people[-1 - index]
        merges[anon] = user
        messages.append({
            "event": "$identify", "distinct_id": user,
            "properties": {"$anon_distinct_id": anon},
            "timestamp": (anchor - timedelta(days=200 - index)).isoformat(),
            "uuid": str(uuid.UUID(int=seed * 10_000 + 9000 + index)),
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


@pytest.fixture(scope="module")
def logs(spyglass):
    out = []
    for seed, anchor in enumerate(ANCHORS, start=1):
        tenant = spyglass.new_project()
        messages, merges = make_log(seed, anchor)
        # every other log has its merges partly squashed into events
        spyglass.capture(tenant, messages, squash_midway=seed % 2 == 0)
        ids = spyglass.query(
            "SELECT distinct_id, toString(person_id) FROM ("
            + template("persons/distinct_ids.sql")
            + ")",
            {"project_id": tenant["id"]},
        ).rows
        uuid_of = dict(ids)
        out.append(Log((tenant, world_of(messages, merges), uuid_of, anchor)))
    return out


def engine_project(tenant: dict, timezone: str, week_start_day: int) -> dict:
    return {"id": tenant["id"], "timezone": timezone, "week_start_day": week_start_day,
            "test_account_filters": TEST_ACCOUNTS}  # fmt: skip


def oracle_world(events, timezone: str, week_start_day: int) -> World:
    return World(
        events=events, now=NOW,
        project=Project(timezone=timezone, week_start_day=week_start_day,
                        test_account_filters=TEST_ACCOUNTS),
        actions={i: Action(i, f"a{i}", a["steps"]) for i, a in ACTIONS.items()},
    )  # fmt: skip


def run_engine(spyglass, project, filters, fn=compute_retention):
    return spyglass.run(fn(spyglass.services.store, project, filters, now=NOW, actions=ACTIONS))


def strip(rows: list[dict]) -> list[dict]:
    """The oracle's rows without its extra `actor_ids`."""
    return [{**row, "values": [{"count": c["count"], "people": []} for c in row["values"]]}
            for row in rows]  # fmt: skip


def without_urls(rows: list[dict]) -> list[dict]:
    """The engine's rows without their people URLs (which tests/test_people_retention_paths.py
    follows), after checking PostHog's rule: a URL on every row, and on exactly the cells with
    people."""
    for row in rows:
        assert row["people_url"].startswith("api/projects/")
        for cell in row["values"]:
            assert ("people_url" in cell) == (cell["count"] > 0), cell
    return [{**{k: v for k, v in row.items() if k != "people_url"},
             "values": [{k: v for k, v in c.items() if k != "people_url"} for c in row["values"]]}
            for row in rows]  # fmt: skip


# -- random requests --------------------------------------------------------------------------

ENTITIES = [
    {"id": "$pageview", "type": "events"},
    {"id": "signed_up", "type": "events"},
    {"id": None, "type": "events"},
    {"id": 1, "type": "actions"},
    {"id": 2, "type": "actions"},
    {"id": "$pageview", "type": "events",
     "properties": [{"key": "$browser", "value": "Safari", "operator": "is_not"}]},
]  # fmt: skip
PROPERTIES = [
    None,
    [{"key": "$browser", "value": ["Chrome", "Firefox"], "operator": "exact", "type": "event"}],
    [{"key": "plan", "operator": "is_set", "type": "person"}],
    {"type": "OR", "values": [{"key": "$current_url", "value": "/docs", "operator": "icontains"},
                              {"key": "plan", "value": "pro", "type": "person"}]},
]  # fmt: skip
BREAKDOWNS = [
    None,
    ("person", [{"type": "person", "property": "plan"}]),
    ("event", [{"type": "event", "property": "$browser"}]),
    ("event", [{"type": "event", "property": "$browser"},
               {"type": "event", "property": "$current_url"}]),
]  # fmt: skip
SHIFT = {
    "Hour": lambda draw: timedelta(hours=draw(st.integers(-2, 30))),
    "Day": lambda draw: timedelta(days=draw(st.integers(-1, 14)), hours=draw(st.integers(0, 23))),
    "Week": lambda draw: timedelta(weeks=draw(st.integers(0, 8)), days=draw(st.integers(0, 6))),
    "Month": lambda draw: timedelta(days=draw(st.integers(0, 150))),
}


@st.composite
def requests(draw):
    period = draw(st.sampled_from(["Hour", "Day", "Week", "Month"]))
    filters: dict = {"period": period, "total_intervals": draw(st.integers(1, 12))}
    shape = draw(st.sampled_from(["date", "datetime", "aware", "relative"]))
    filters["_shape"] = shape
    filters["_shift"] = SHIFT[period](draw)
    if draw(st.booleans()):
        filters["retention_type"] = "retention_first_time"
    filters["target_entity"] = draw(st.sampled_from(ENTITIES))
    if draw(st.booleans()):
        filters["returning_entity"] = draw(st.sampled_from(ENTITIES))
    properties = draw(st.sampled_from(PROPERTIES))
    if properties is not None:
        filters["properties"] = properties
    if draw(st.integers(0, 3)) == 0:
        filters["filter_test_accounts"] = True
    breakdown = draw(st.sampled_from(BREAKDOWNS))
    if breakdown is not None and draw(st.booleans()):
        filters["breakdown_type"], filters["breakdowns"] = breakdown
    if draw(st.integers(0, 4)) == 0:
        filters["aggregation_group_type_index"] = 0
    return filters


def finish(filters: dict, anchor: datetime, timezone: str) -> dict:
    """Place date_to relative to the log's anchor, in one of the forms clients send."""
    filters = dict(filters)
    shape, moment = filters.pop("_shape"), anchor + filters.pop("_shift")
    local = moment.astimezone(ZoneInfo(timezone))
    if shape == "date":
        filters["date_to"] = local.date().isoformat()
    elif shape == "datetime":
        filters["date_to"] = local.replace(tzinfo=None).isoformat()
    elif shape == "aware":
        filters["date_to"] = moment.isoformat()
    else:
        filters["date_to"] = f"-{(NOW.date() - local.date()).days}d"
    return filters


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    request=requests(),
    which=st.integers(0, len(ANCHORS) - 1),
    timezone=st.sampled_from(TIMEZONES),
    week_start_day=st.sampled_from([0, 1]),
    people_cohort=st.one_of(st.none(), st.integers(0, 11)),
)
def test_retention_matches_the_oracle(spyglass, logs, request, which, timezone, week_start_day,
                                      people_cohort):  # fmt: skip
    tenant, events, uuid_of, anchor = logs[which]
    filters = finish(request, anchor, timezone)
    world = oracle_world(events, timezone, week_start_day)
    project = engine_project(tenant, timezone, week_start_day)
    expected = oracle.retention(filters, world)
    got = run_engine(spyglass, project, filters)
    kind = "first-time" if filters.get("retention_type") else "recurring"
    event(f"period {filters['period']}, {kind}")
    event("breakdown" if "breakdowns" in filters else "table")
    total = sum(c["count"] for row in expected for c in row["values"][1:])
    event(f"returns counted: {'none' if not total else '1-9' if total < 10 else '10+'}")
    assert without_urls(got) == strip(expected), filters

    if people_cohort is None:
        return
    n = filters["total_intervals"]
    if "breakdowns" in filters:
        if not expected:
            return
        key = expected[people_cohort % len(expected)]["breakdown_values"]
        query = {**filters, "breakdown_values": key, "selected_interval": people_cohort % n}
    else:
        query = {
            **filters,
            "breakdown_values": [people_cohort % n],
            "selected_interval": people_cohort % (n - people_cohort % n),
        }
    want = oracle.retention_people(query, world)
    event(f"people compared: {'none' if not want else 'some'}")
    found = run_engine(spyglass, project, query, retention_people)
    to_engine = (lambda a: a) if "aggregation_group_type_index" in filters else uuid_of.get
    assert [(r["actor"], r["appearances"]) for r in found["results"]] == sorted(
        ((to_engine(p["actor"]), p["appearances"]) for p in want),
        key=lambda pair: (-sum(pair[1]), pair[0]),
    ), query


# -- spec examples ----------------------------------------------------------------------------


def ingest(spyglass, tenant, rows):
    batch = [{"event": ev, "distinct_id": who, "timestamp": ts,
              "properties": props or {}} for who, ts, ev, props in rows]  # fmt: skip
    r = httpx.post(spyglass.url + "/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200, r.text


def counts(rows):
    return [[c["count"] for c in row["values"]] for row in rows]


def test_a3_day_example_window_and_labels(spyglass, tenant):
    # A3: Day, N=11, date_to 2020-06-20T06:00 → cohorts 6/10 … 6/20.
    filters = {"period": "Day", "total_intervals": 11, "date_to": "2020-06-20T06:00:00"}
    rows = run_engine(spyglass, engine_project(tenant, "UTC", 0), filters)
    assert [r["date"] for r in rows] == [f"2020-06-{d}T00:00:00Z" for d in range(10, 21)]
    assert [r["label"] for r in rows] == [f"Day {c}" for c in range(11)]
    assert [len(r["values"]) for r in rows] == list(range(11, 0, -1))


@pytest.mark.parametrize(
    ("week_start_day", "first", "last"),
    [(0, "2020-06-07", "2020-07-19"), (1, "2020-06-08", "2020-07-20")],
)
def test_a3_week_example(spyglass, tenant, week_start_day, first, last):
    filters = {"period": "Week", "total_intervals": 7, "date_to": "2020-07-20"}
    rows = run_engine(spyglass, engine_project(tenant, "UTC", week_start_day), filters)
    assert rows[0]["date"] == f"{first}T00:00:00Z" and rows[-1]["date"] == f"{last}T00:00:00Z"


def test_month_cohorts_start_on_the_first(spyglass, tenant):
    # spec README: calendar months.
    filters = {"period": "Month", "total_intervals": 3, "date_to": "2020-03-15"}
    rows = run_engine(spyglass, engine_project(tenant, "America/Los_Angeles", 0), filters)
    assert [r["date"] for r in rows] == ["2020-01-01T00:00:00-08:00", "2020-02-01T00:00:00-08:00",
                                         "2020-03-01T00:00:00-08:00"]  # fmt: skip


def test_a4_first_time_excludes_earlier_actors_and_same_period_returns(spyglass, tenant):
    ingest(spyglass, tenant, [
        ("shouldnt_include", "2020-06-01T10:00:00Z", "$pageview", None),
        ("shouldnt_include", "2020-06-11T10:00:00Z", "$pageview", None),
        ("person1", "2020-06-10T10:00:00Z", "$pageview", None),
        ("person1", "2020-06-10T12:00:00Z", "bought", None),  # same period: adds nothing
        ("person1", "2020-06-12T10:00:00Z", "bought", None),
        ("alias1", "2020-06-11T09:00:00Z", "$pageview", None),
    ])  # fmt: skip
    base = {"period": "Day", "total_intervals": 4, "date_to": "2020-06-13",
            "returning_entity": {"id": "bought", "type": "events"}}  # fmt: skip
    project = engine_project(tenant, "UTC", 0)
    first = run_engine(spyglass, project, {**base, "retention_type": "retention_first_time"})
    assert counts(first) == [[1, 0, 1, 0], [1, 0, 0], [0, 0], [0]]
    recurring = run_engine(spyglass, project, base)
    assert counts(recurring) == [[1, 0, 1, 0], [2, 0, 0], [0, 0], [0]]


def test_a6_breakdown_rows_and_event_at_window_end(spyglass, tenant):
    ingest(spyglass, tenant, [
        ("p1", "2020-06-11T10:00:00Z", "$pageview", {"$browser": "Chrome"}),
        ("p1", "2020-06-14T00:00:00Z", "$pageview", {"$browser": "Chrome"}),  # exactly DATE_TO
        ("p2", "2020-06-11T10:00:00Z", "$pageview", None),
        ("p2", "2020-06-12T10:00:00Z", "$pageview", None),
    ])  # fmt: skip
    filters = {"period": "Day", "total_intervals": 4, "date_to": "2020-06-13",
               "breakdowns": [{"type": "event", "property": "$browser"}],
               "breakdown_type": "event"}  # fmt: skip
    rows = run_engine(spyglass, engine_project(tenant, "UTC", 0), filters)
    assert [(r["label"], r["breakdown_values"], counts([r])[0]) for r in rows] == [
        ("", [""], [1, 1, 0, 0]),
        ("Chrome", ["Chrome"], [1, 0, 0, 1]),
    ]


@pytest.mark.parametrize(("filters", "attr"), [
    ({"period": "Minute"}, "period"),
    ({"total_intervals": 0}, "total_intervals"),
    ({"total_intervals": "x"}, "total_intervals"),
    ({"breakdowns": [{"property": "plan"}]}, "breakdown_type"),
    ({"target_entity": {"id": 99, "type": "actions"}}, "target_entity.id"),
    ({"date_to": "tomorrow-ish"}, "date_to"),
    ({"aggregation_group_type_index": 7}, "aggregation_group_type_index"),
])  # fmt: skip
def test_bad_requests_name_the_field(spyglass, tenant, filters, attr):
    with pytest.raises(ValidationError) as caught:
        run_engine(spyglass, engine_project(tenant, "UTC", 0), filters)
    assert caught.value.attr == attr
