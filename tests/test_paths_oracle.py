"""The paths engine against the oracle (tests/oracles/paths.py, written from the spec).

A few random logs are ingested once per module: persons whose events are minutes apart, with
gaps of exactly 30 minutes and just under or over, identical timestamps, repeated items,
pageviews with and without trailing slashes, screens, custom and `$` events, merged persons.
Hypothesis varies the request — event types, custom events, exclusions, points, step limit,
groupings, cleaning rules, edge limits and weights, dates, property filters — and the edges
must equal the oracle's; on some examples the people behind a node or edge are compared too.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.errors import ValidationError
from gateway.persons import template
from resolvers.paths import compute_paths, paths_people
from tests.oracles import paths as oracle
from tests.oracles.model import Event, Project, World

NOW = datetime(2021, 3, 20, 12, tzinfo=UTC)
START = datetime(2021, 3, 13, 20, tzinfo=UTC)  # the log spans New York's DST change
URLS = ["/", "/home/", "/pricing", "/blog/1", "/blog/2/", "/docs/a", "/docs/b/", None]
SCREENS = ["Home", "Settings", None]
EVENTS = ["$pageview"] * 5 + ["$screen"] * 2 + ["click", "signed_up", "$autocapture"]
GAPS = [0, 1, 2, 5, 29, 30, 30, 31, 45, 120, 600]  # minutes; 0 is a tie
TEAM_RULES = [{"regex": "/\\d+", "alias": "/:id"}]
TEST_ACCOUNTS = [{"key": "email", "operator": "not_icontains", "value": "posthog.com",
                  "type": "person"}]  # fmt: skip


def make_log(seed: int) -> tuple[list[dict], dict]:
    rng = random.Random(seed)
    messages, merges = [], {}
    people = [f"u{seed}-{i}" for i in range(24)]
    for index, person in enumerate(people):
        moment = START + timedelta(minutes=rng.randint(0, 60 * 24 * 3))
        email = rng.choice(["a@example.com", "b@posthog.com"])
        for j in range(rng.randint(1, 28)):
            moment += timedelta(minutes=rng.choice(GAPS), seconds=rng.choice([0, 0, 0, 17]))
            name = rng.choice(EVENTS)
            props: dict = {"$browser": rng.choice(["Chrome", "Safari"])}
            if name == "$pageview":
                url = rng.choice(URLS)
                if url is not None:
                    props["$current_url"] = url
            if name == "$screen":
                screen = rng.choice(SCREENS)
                if screen is not None:
                    props["$screen_name"] = screen
            if j == 0:
                props["$set"] = {"email": email}
            messages.append({
                "event": name, "distinct_id": person, "properties": props,
                "timestamp": moment.isoformat(),
                "uuid": str(uuid.UUID(int=seed * 10_000 + index * 100 + j + 1)),
            })  # fmt: skip
            if rng.random() < 0.1:  # a repeat of the same item
                repeat = uuid.UUID(int=seed * 10_000 + index * 100 + 99 - j)
                later = moment + timedelta(minutes=rng.choice([0, 3]))
                messages.append({**messages[-1], "uuid": str(repeat),
                                 "timestamp": later.isoformat()})  # fmt: skip
    for index in range(2):
        anon, user = people[index], people[-1 - index]
        merges[anon] = user
        messages.append({
            "event": "$identify", "distinct_id": user,
            "properties": {"$anon_distinct_id": anon},
            "timestamp": (START - timedelta(days=30)).isoformat(),
            "uuid": str(uuid.UUID(int=seed * 10_000 + 9000 + index)),
        })  # fmt: skip
    return messages, merges


def events_of(messages: list[dict], merges: dict) -> list[Event]:
    def person(distinct_id: str) -> str:
        return merges.get(distinct_id, distinct_id)

    props: dict[str, dict] = {}
    for m in sorted(messages, key=lambda m: m["timestamp"]):
        props.setdefault(person(m["distinct_id"]), {}).update(m["properties"].get("$set") or {})
    return [
        Event(uuid=m["uuid"], event=m["event"], distinct_id=m["distinct_id"],
              person_id=person(m["distinct_id"]),
              timestamp=datetime.fromisoformat(m["timestamp"]), properties=m["properties"],
              person_properties=props.get(person(m["distinct_id"]), {}))
        for m in messages
    ]  # fmt: skip


class Log(tuple):
    def __repr__(self) -> str:
        return f"<log {self[0]['id']}>"


@pytest.fixture(scope="module")
def logs(spyglass):
    out = []
    for seed in (1, 2, 3):
        tenant = spyglass.new_project()
        messages, merges = make_log(seed)
        # the second log has its merges partly squashed into events
        spyglass.capture(tenant, messages, squash_midway=seed == 2)
        ids = spyglass.query(
            "SELECT distinct_id, toString(person_id) FROM ("
            + template("persons/distinct_ids.sql")
            + ")",
            {"project_id": tenant["id"]},
        ).rows
        out.append(Log((tenant, events_of(messages, merges), dict(ids))))
    return out


def project_of(tenant: dict, timezone: str) -> dict:
    return {"id": tenant["id"], "timezone": timezone, "week_start_day": 0,
            "test_account_filters": TEST_ACCOUNTS, "path_cleaning_filters": TEAM_RULES}  # fmt: skip


def world_of(events, timezone: str) -> World:
    project = Project(timezone=timezone, test_account_filters=TEST_ACCOUNTS,
                      path_cleaning_filters=TEAM_RULES)  # fmt: skip
    return World(events=events, now=NOW, project=project)


def run(spyglass, project, filters, fn=compute_paths):
    return spyglass.run(fn(spyglass.services.store, project, filters, now=NOW))


def same_edges(got: list[dict], expected: list[dict]) -> bool:
    if [(e["source"], e["target"], e["value"]) for e in got] != [
        (e["source"], e["target"], e["value"]) for e in expected
    ]:
        return False
    return all(
        g["average_conversion_time"] == pytest.approx(e["average_conversion_time"], rel=1e-9)
        for g, e in zip(got, expected, strict=True)
    )


# -- random requests --------------------------------------------------------------------------

POINTS = ["/pricing", "/", "/home/", "Home", "click", "/home", "/blog/1", "/docs/a", "$screen",
          "/blog/*", "/:id"]  # fmt: skip
CLEANING = [
    [{"regex": "^/(\\w+)/.*", "alias": "/\\1/*"}],
    [{"regex": "s$", "alias": ""}, {"regex": "^$", "alias": "(none)"}],
]
GROUPINGS = [["/blog/*"], ["/docs*", "*o*"], ["*i*"]]
PROPERTIES = [
    [{"key": "$browser", "value": "Chrome", "operator": "exact", "type": "event"}],
    [{"key": "email", "value": "example", "operator": "icontains", "type": "person"}],
]


@st.composite
def requests(draw):
    filters: dict = {}
    kinds = draw(st.sets(st.sampled_from(["$pageview", "$screen", "custom_event"]), max_size=2))
    if kinds:
        filters["include_event_types"] = sorted(kinds)
    if "custom_event" not in kinds and draw(st.integers(0, 4)) == 0:
        filters["include_custom_events"] = ["click", "signed_up"]
    if draw(st.integers(0, 3)) == 0:
        filters["exclude_events"] = draw(st.lists(st.sampled_from(
            ["$pageview", "/pricing", "click", "/blog/*", "$autocapture", "Home"]),
            min_size=1, max_size=2))  # fmt: skip
    points = draw(st.sampled_from(["none", "start", "end", "both", "none"]))
    if points in ("start", "both"):
        filters["start_point"] = draw(st.sampled_from(POINTS))
    if points in ("end", "both"):
        filters["end_point"] = draw(st.sampled_from(POINTS))
    filters["step_limit"] = draw(st.sampled_from([4, 3, 5, 2, 6, 8, 1]))
    if draw(st.integers(0, 3)) == 0:
        filters["path_groupings"] = draw(st.sampled_from(GROUPINGS))
    if draw(st.integers(0, 3)) == 0:
        filters["local_path_cleaning_filters"] = draw(st.sampled_from(CLEANING))
    if draw(st.integers(0, 3)) == 0:
        filters["path_replacements"] = True
    limit = draw(st.sampled_from([None, None, None, 20, 8, 3, 1]))
    if limit is not None:
        filters["edge_limit"] = limit
    if draw(st.integers(0, 4)) == 0:
        filters["min_edge_weight"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 5)) == 0:
        filters["max_edge_weight"] = max(
            draw(st.integers(2, 20)), filters.get("min_edge_weight", 0)
        )
    filters["date_from"] = draw(st.sampled_from(["-7d", "2021-03-14", "2021-03-14T10:00:00",
                                                  "all", "-120h"]))  # fmt: skip
    filters["date_to"] = draw(st.sampled_from([None, "2021-03-15", "-4d", "2021-03-16 08:30:00"]))
    if draw(st.integers(0, 3)) == 0:
        filters["properties"] = draw(st.sampled_from(PROPERTIES))
    if draw(st.integers(0, 4)) == 0:
        filters["filter_test_accounts"] = True
    return {k: v for k, v in filters.items() if v is not None}


@st.composite
def people_keys(draw, edges: list[dict]):
    choice = draw(st.sampled_from(["dropoff", "start", "end", "edge", "none"]))
    if choice == "none" or not edges:
        return {}
    edge = draw(st.sampled_from(edges))
    if choice == "dropoff":
        return {"path_dropoff_key": draw(st.sampled_from([edge["source"], edge["target"]]))}
    if choice == "start":
        return {"path_start_key": edge["source"]}
    if choice == "end":
        return {"path_end_key": draw(st.sampled_from([edge["source"], edge["target"]]))}
    return {"path_start_key": edge["source"], "path_end_key": edge["target"]}


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    filters=requests(),
    which=st.integers(0, 2),
    timezone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
    data=st.data(),
)
def test_paths_match_the_oracle(spyglass, logs, filters, which, timezone, data):
    tenant, events, uuid_of = logs[which]
    project, world = project_of(tenant, timezone), world_of(events, timezone)
    expected = oracle.paths(filters, world)
    got = run(spyglass, project, filters)
    points = [k for k in ("start_point", "end_point") if k in filters]
    event(f"points: {'+'.join(points) or 'none'}")
    event(f"edges: {'none' if not expected else '1-9' if len(expected) < 10 else '10+'}")
    assert same_edges(got, expected), (filters, got[:5], expected[:5])

    if data.draw(st.integers(0, 2)) > 0:  # people on a third of the examples
        return
    keys = data.draw(people_keys(expected))
    query = {**filters, **keys, "limit": 1000}
    want = sorted(uuid_of[p] for p in oracle.paths_people(query, world))
    found = run(spyglass, project, query, paths_people)
    event(f"people: {'none' if not want else 'some'}")
    assert found["results"] == want and found["total"] == len(want), query


# -- spec examples ----------------------------------------------------------------------------


def ingest(spyglass, tenant, rows):
    batch = [{"event": ev, "distinct_id": who, "timestamp": ts, "properties": props or {}}
             for who, ts, ev, props in rows]  # fmt: skip
    r = httpx.post(spyglass.url + "/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200, r.text


def pv(who: str, minute: int, url: str) -> tuple:
    ts = (datetime(2021, 3, 18, 10, tzinfo=UTC) + timedelta(minutes=minute)).isoformat()
    return (who, ts, "$pageview", {"$current_url": url})


def edges(result: list[dict]) -> list[tuple]:
    return [(e["source"], e["target"], e["value"], e["average_conversion_time"]) for e in result]


def test_b3_sessions_split_at_30_minutes_and_repeats_collapse(spyglass, tenant):
    ingest(spyglass, tenant, [
        pv("p1", 0, "/"), pv("p1", 1, "/about/"), pv("p1", 2, "/about"), pv("p1", 3, "/x"),
        pv("p1", 33, "/"),  # exactly 30 minutes later: a new session
        pv("p1", 34, "/about"),
    ])  # fmt: skip
    result = run(spyglass, project_of(tenant, "UTC"), {"date_from": "-7d"})
    # /about collapses into its last event (minute 2): 1_/ → 2_/about takes 120 s.
    assert edges(result) == [
        ("1_/", "2_/about", 2, 90_000.0),
        ("2_/about", "3_/x", 1, 60_000.0),
    ]


def test_b5_both_points_shorten_with_an_ellipsis(spyglass, tenant):
    urls = ["/1", "/2", "/3", "/4", "/5", "/about", "/6"]
    ingest(spyglass, tenant, [pv("p1", i, url) for i, url in enumerate(urls)])
    filters = {"start_point": "/2", "end_point": "/about/", "step_limit": 4}
    result = run(spyglass, project_of(tenant, "UTC"), filters)
    assert [(e["source"], e["target"]) for e in result] == [
        ("1_/2", "2_/3"), ("2_/3", "3_..."), ("3_...", "4_/5"), ("4_/5", "5_/about")]  # fmt: skip


def test_b6_pruning_drops_edges_cut_off_from_a_first_node(spyglass, tenant):
    ingest(spyglass, tenant, [
        pv("a", 0, "/a"), pv("a", 1, "/b"), pv("a", 2, "/c"),
        pv("b", 0, "/z"), pv("b", 1, "/b"), pv("b", 2, "/c"),
        pv("c", 0, "/y"), pv("c", 1, "/b"), pv("c", 2, "/c"),
    ])  # fmt: skip
    project = project_of(tenant, "UTC")
    assert [(e["source"], e["target"]) for e in run(spyglass, project, {"edge_limit": 1})] == []
    weighted = run(spyglass, project, {"edge_limit": 1, "min_edge_weight": 1})
    assert [(e["source"], e["target"], e["value"]) for e in weighted] == [("2_/b", "3_/c", 3)]


def test_b4_groupings_and_cleaning(spyglass, tenant):
    ingest(spyglass, tenant, [pv("p", 0, "/2/bar/1/foo"), pv("p", 1, "/bar/7/foo"),
                              pv("p", 2, "/item/12"), pv("p", 3, "/item/13")])  # fmt: skip
    filters = {"path_groupings": ["/bar/*/foo"],
               "local_path_cleaning_filters": [{"regex": "/\\d+$", "alias": "/:id"}]}  # fmt: skip
    result = run(spyglass, project_of(tenant, "UTC"), filters)
    assert [(e["source"], e["target"]) for e in result] == [("1_/bar/*/foo", "2_/item/:id")]


@pytest.mark.parametrize(("filters", "attr"), [
    ({"include_event_types": ["hogql"]}, "include_event_types"),
    ({"include_event_types": ["custom_event"], "include_custom_events": ["a"]},
     "include_custom_events"),
    ({"local_path_cleaning_filters": [{"regex": "(", "alias": "x"}]},
     "local_path_cleaning_filters[0].regex"),
    ({"step_limit": 0}, "step_limit"),
    ({"min_edge_weight": 5, "max_edge_weight": 2}, "max_edge_weight"),
    ({"funnel_paths": "funnel_path_after_step"}, "funnel_filter"),
])  # fmt: skip
def test_bad_requests_name_the_field(spyglass, tenant, filters, attr):
    with pytest.raises(ValidationError) as caught:
        run(spyglass, project_of(tenant, "UTC"), filters)
    assert caught.value.attr == attr
