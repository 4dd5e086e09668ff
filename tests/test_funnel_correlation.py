"""Funnel correlation (resolvers/funnel_correlation.py) against its oracle and the spec (§5).

The hypothesis test draws the funnel exactly as tests/test_funnels_oracle.py does (order
types, repeated steps, windows from seconds to months, exclusions, date ranges, breakdowns the
cohort must ignore, group aggregation, global filters) over logs with heavy timestamp ties and
people with many attempts, adds the correlation parameters, and compares the engine's result
with tests/oracles/correlation.py. Each log joins several seeds of the funnel test's logs, so
that over fifty actors enter a funnel and §5.5's 2% support floor bites.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.errors import ValidationError
from resolvers.funnel_correlation import (
    RowShape,
    compute_correlation,
    describe_candidate,
    parse_correlation,
)
from resolvers.funnel_correlation_people import candidate_of, correlation_people
from tests.oracles.correlation import correlation
from tests.oracles.funnels import FunnelValidationError
from tests.test_funnels_oracle import (
    ACTIONS,
    NOW,
    TIMEZONES,
    engine_project,
    funnels,
    ingest,
    ingest_log,
    make_log,
    oracle_world,
    same,
    strip,
)

URLS = ("success_people_url", "failure_people_url")


def joined_log(seeds: tuple[int, ...]) -> tuple[list[dict], dict]:
    """One log of several seeds' people (their ids and uuids are distinct by seed), half of
    the unrelated `x` events renamed `y0`..`y11` so that there are more than ten candidates."""
    messages, merges = [], {}
    for seed in seeds:
        more, more_merges = make_log(seed)
        messages += more
        merges.update(more_merges)
    for m in messages:
        number = uuid.UUID(m["uuid"]).int
        if m["event"] == "x" and number % 2:
            m["event"] = f"y{number // 2 % 12}"
    return messages, merges


@pytest.fixture(scope="module")
def logs(spyglass):
    return [ingest_log(spyglass, *joined_log(seeds)) for seeds in ((4, 5, 6, 7, 8), (9, 10))]


def run(spyglass, project: dict, filters: dict) -> dict:
    store = spyglass.services.store
    return spyglass.run(compute_correlation(store, project, filters, now=NOW, actions=ACTIONS))


def without_urls(result: dict) -> dict:
    rows = [{k: v for k, v in row.items() if k not in URLS} for row in result["events"]]
    return {**result, "events": rows}


def subsets(*names: str, min_size: int = 0):
    return st.lists(st.sampled_from(names), unique=True, min_size=min_size, max_size=len(names))


SOMETIMES_NONE = st.sampled_from([True] * 5 + [False])  # integers would favour 0


@st.composite
def correlations(draw):
    order_type = draw(st.sampled_from(["ordered", "ordered", "strict", "unordered"]))
    filters = draw(funnels(order_type))
    steps = filters["events"] + filters.get("actions", [])
    if len(steps) == 1 and draw(st.integers(0, 3)):  # mostly funnels with a failure side
        # unordered funnels stay on distinct steps (the funnel engine's exact domain)
        second = "b" if steps[0].get("id") != "b" else "c"
        filters["events"] = [*filters["events"], {"id": second, "type": "events", "order": 1}]
    kinds = ["events", "events", "properties", "event_with_properties", "event_with_properties"]
    kind = draw(st.sampled_from([*kinds, None, "x"]))
    if kind is not None:
        filters["funnel_correlation_type"] = kind
    # names that exist, one that never does, `$all`; sometimes none (a 400 for properties)
    names = subsets("plan", "$browser", "nope", "$all", min_size=1)
    filters["funnel_correlation_names"] = draw(names) if draw(SOMETIMES_NONE) else []
    filters["funnel_correlation_exclude_names"] = draw(subsets("plan", "p"))
    filters["funnel_correlation_exclude_event_names"] = draw(subsets("x", "c", "y1"))
    event_names = subsets("a", "b", "c", "x", "y2", min_size=1)
    filters["funnel_correlation_event_names"] = draw(event_names) if draw(SOMETIMES_NONE) else []
    filters["funnel_correlation_event_exclude_property_names"] = draw(
        subsets("$groups", "$set", "p", "$browser")
    )
    return filters


# 300, not the funnels' 500: the slowest oracle test of the suite (each example computes a
# funnel and a correlation), and the 500 are per funnel order type.
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def people_of(spyglass, project: dict, filters: dict, row: dict, converted: bool) -> set[str]:
    """The actors the row's people URL lists (its parameters, as the URL carries them)."""
    kind = parse_correlation(filters).kind
    point = describe_candidate(kind, row["event"]["event"],
                               filters.get("aggregation_group_type_index"))  # fmt: skip
    point["funnel_correlation_person_converted"] = "true" if converted else "false"
    point["funnel_correlation_person_limit"] = 10_000
    store = spyglass.services.store
    total, page = spyglass.run(correlation_people(store, project, {**filters, **point}, now=NOW,
                                                  actions=ACTIONS))  # fmt: skip
    assert total == len(page)
    return {p["id"] for p in page}


@SETTINGS
@given(
    filters=correlations(),
    which=st.integers(0, 1),
    timezone=st.sampled_from(TIMEZONES),
    people=st.integers(0, 3),
)
def test_correlation_matches_the_oracle(spyglass, logs, filters, which, timezone, people):
    tenant, events, uuid_of = logs[which]
    world = oracle_world(events, timezone)
    project = engine_project(tenant, timezone)
    try:
        expected = correlation(filters, world)
    except FunnelValidationError as error:
        event(f"refused: {error.attr}")
        with pytest.raises(ValidationError) as caught:
            run(spyglass, project, filters)
        assert caught.value.attr == error.attr, (filters, caught.value.detail, error.detail)
        return
    got = run(spyglass, project, filters)
    kind = filters.get("funnel_correlation_type")
    event(f"type {kind if kind in ('properties', 'event_with_properties') else 'events'}")
    rows = expected["events"]
    empty = "none (a side without actors)" if expected["skewed"] and not rows else "none"
    event(f"rows: {empty if not rows else '1-9' if len(rows) < 10 else '10+'}")
    if rows:
        event(f"both sides: {len({r['correlation_type'] for r in rows}) == 2}")
    same(without_urls(got), strip(expected), f"{filters} on log {which} in {timezone}")
    if rows and people == 0:  # the people behind the first and the last row
        grouped = "aggregation_group_type_index" in filters
        for row in {id(r): r for r in (rows[0], rows[-1])}.values():
            for converted, key in ((True, "_success_people"), (False, "_failure_people")):
                want = {a if grouped else uuid_of[a] for a in row[key]}
                assert people_of(spyglass, project, filters, row, converted) == want, filters


# -- worked examples (§5.2-5.6) ----------------------------------------------------------------

DAY = datetime(2021, 5, 3, 10, tzinfo=UTC)
MAY = {"date_from": "2021-05-01", "date_to": "2021-05-31"}
TWO = {"insight": "FUNNELS", "events": [{"id": "signup", "order": 0}, {"id": "pay", "order": 1}],
       **MAY}  # fmt: skip


def at(minutes: float) -> str:
    return (DAY + timedelta(minutes=minutes)).isoformat()


def journey(who: str, between: list[str], converts: bool, props: dict | None = None) -> list:
    """signup, the `between` events a minute apart, then pay (when it converts)."""
    rows = [(who, at(0), "signup", props)]
    rows += [(who, at(i + 1), name, None) for i, name in enumerate(between)]
    if converts:
        rows.append((who, at(len(between) + 1), "pay", None))
    return rows


def test_odds_ratio_counts_and_sides(spyglass, tenant):
    # S = 3 converters, F = 2 non-converters; `docs` seen by 2 converters and no failure:
    # ((2 + 1) * (2 - 0 + 1)) / ((3 - 2 + 1) * (0 + 1)) = 4.5; `help` by 2 failures and 1
    # converter: ((1 + 1) * (2 - 2 + 1)) / ((3 - 1 + 1) * (2 + 1)) = 2/9
    ingest(spyglass, tenant, [
        *journey("s1", ["docs"], True), *journey("s2", ["docs", "help"], True),
        *journey("s3", [], True), *journey("f1", ["help"], False),
        *journey("f2", ["help", "help"], False),
    ])  # fmt: skip
    got = run(spyglass, engine_project(tenant, "UTC"), TWO)
    assert got["skewed"] is False
    rows = [(r["event"]["event"], r["success_count"], r["failure_count"], r["odds_ratio"],
             r["correlation_type"]) for r in got["events"]]  # fmt: skip
    assert rows == [("docs", 2, 0, 4.5, "success"), ("help", 1, 2, 2 / 9, "failure")]
    assert got["events"][0]["event"] == {"event": "docs", "properties": {}, "elements": []}


def test_events_outside_the_attempt_and_step_names_are_not_candidates(spyglass, tenant):
    # §5.3: strictly after the first step and before the last; step names never count
    ingest(spyglass, tenant, [
        ("s1", at(-5), "before", None), ("s1", at(0), "signup", None),
        ("s1", at(0), "tied", None), ("s1", at(1), "inside", None),
        ("s1", at(2), "signup", None), ("s1", at(3), "pay", None),
        ("s1", at(3), "tied_end", None), ("s1", at(4), "after", None),
        ("f1", at(0), "signup", None), ("f1", at(1), "inside", None),
    ])  # fmt: skip
    got = run(spyglass, engine_project(tenant, "UTC"), TWO)
    assert [r["event"]["event"] for r in got["events"]] == ["inside"]
    assert got["events"][0]["odds_ratio"] == 1.0  # (2 * 1) / (1 * 2): exactly 1 is a failure
    assert got["events"][0]["correlation_type"] == "failure"


def test_non_converter_window_ends_with_its_attempt(spyglass, tenant):
    # README: a non-converter's events count until its first step + the window
    ingest(spyglass, tenant, [
        *journey("s1", [], True),
        ("f1", at(0), "signup", None), ("f1", at(30), "early", None),
        ("f1", at(24 * 60 + 30), "late", None),
    ])  # fmt: skip
    got = run(spyglass, engine_project(tenant, "UTC"), {**TWO, "funnel_window_days": 1})
    assert [r["event"]["event"] for r in got["events"]] == ["early"]


def test_skewed_and_empty_sides(spyglass, tenant):
    project = engine_project(tenant, "UTC")
    ingest(spyglass, tenant, [r for i in range(11) for r in journey(f"s{i}", ["x"], True)])
    assert run(spyglass, project, TWO) == {"events": [], "skewed": True}  # F = 0
    ingest(spyglass, tenant, journey("f1", ["x"], False))
    got = run(spyglass, project, TWO)
    assert got["skewed"] is True and len(got["events"]) == 1  # 11 / 1 > 10
    ingest(spyglass, tenant, journey("f2", ["x"], False))
    assert run(spyglass, project, TWO)["skewed"] is False  # 11 / 2


def test_support_floor_and_top_ten_of_each_side(spyglass, tenant):
    # §5.5: 30 converters and 30 failures → a candidate needs min(25, 0.02 * 60) = 1.2 actors;
    # §5.6: the ten best successes by odds descending, then the ten best failures ascending
    rows = []
    for i in range(30):
        rows += journey(f"s{i}", [f"win{k:02d}" for k in range(12)] + ["rare" * (i == 0)], True)
        rows += journey(f"f{i}", [f"lose{k:02d}" for k in range(12 - i % 2)], False)
    ingest(spyglass, tenant, [r for r in rows if r[2] != ""])
    got = run(spyglass, engine_project(tenant, "UTC"), TWO)
    names = [r["event"]["event"] for r in got["events"]]
    assert "rare" not in names  # one actor < 1.2
    # equal odds rank by name; the failures with fewer people (lose11) are less extreme
    assert names == [f"win{k:02d}" for k in range(10)] + [f"lose{k:02d}" for k in range(10)]
    exclude = {**TWO, "funnel_correlation_exclude_event_names": '["win00", "lose00"]'}
    names = [r["event"]["event"] for r in run(spyglass, engine_project(tenant, "UTC"),
                                              exclude)["events"]]  # fmt: skip
    assert "win00" not in names and "lose00" not in names and "win10" in names


def test_action_steps_exclude_their_events(spyglass, tenant):
    # §5.3 (#7164): the events an action step is built on are never candidates
    ingest(spyglass, tenant, [
        *journey("s1", ["a", "b", "other"], True), *journey("f1", ["a", "other"], False),
    ])  # fmt: skip
    filters = {**TWO, "actions": [{"id": 1, "type": "actions", "order": 1}],
               "events": [{"id": "signup", "order": 0}, {"id": "pay", "order": 2}]}  # fmt: skip
    got = run(spyglass, engine_project(tenant, "UTC"), filters)
    assert [r["event"]["event"] for r in got["events"]] == ["other"]


def test_properties_explicit_missing_and_all(spyglass, tenant):
    # §5.3: `key::value` of current person properties; a missing explicit one is `key::`;
    # `$all` enumerates what exists; excluded names are dropped
    ingest(spyglass, tenant, [
        *journey("s1", [], True, {"$set": {"plan": "pro", "age": 30}}),
        *journey("s2", [], True, {"$set": {"plan": "pro"}}),
        *journey("f1", [], False, {"$set": {"plan": "free"}}),
    ])  # fmt: skip
    project = engine_project(tenant, "UTC")
    props = {**TWO, "funnel_correlation_type": "properties"}
    got = run(spyglass, project, {**props, "funnel_correlation_names": ["plan", "$nice"]})
    assert [(r["event"]["event"], r["success_count"], r["failure_count"])
            for r in got["events"]] == [("plan::pro", 2, 0), ("$nice::", 2, 1),
                                        ("plan::free", 0, 1)]  # fmt: skip
    everything = {**props, "funnel_correlation_names": ["$all"],
                  "funnel_correlation_exclude_names": ["plan"]}  # fmt: skip
    assert [r["event"]["event"] for r in run(spyglass, project, everything)["events"]] == [
        "age::30"]  # fmt: skip
    url = got["events"][0]["success_people_url"]
    assert url.startswith(f"api/projects/{tenant['id']}/persons/funnel/correlation/?")
    assert "funnel_correlation_property_values" in url and "person_converted=true" in url


def test_event_with_properties_and_autocapture(spyglass, tenant):
    # §5.3: `event::key::value` over the named events, candidates with s + f <= 2 dropped;
    # `$autocapture` by element chain, with the parsed elements (§5.7)
    chain = 'button.primary:attr_id="go"nth-child="2"text="Buy";div:attr__role="main"'
    rows = []
    for who, converts in (("s1", True), ("s2", True), ("f1", False), ("f2", False)):
        rows += journey(who, [], converts)
        rows.append((who, at(0.5), "view", {"plan": "pro" if converts else "free", "n": 1}))
    ingest(spyglass, tenant, rows)
    auto = [{"event": "$autocapture", "distinct_id": who, "timestamp": at(0.7),
             "elements_chain": chain, "properties": {"$event_type": "click"}}
            for who in ("s1", "s2", "f1")]  # fmt: skip
    r = httpx.post(spyglass.url + "/batch/", json={"api_key": tenant["token"], "batch": auto})
    assert r.status_code == 200
    filters = {**TWO, "funnel_correlation_type": "event_with_properties",
               "funnel_correlation_event_names": ["view", "$autocapture"],
               "funnel_correlation_event_exclude_property_names": ["$event_type"]}  # fmt: skip
    got = run(spyglass, engine_project(tenant, "UTC"), filters)
    names = [r["event"]["event"] for r in got["events"]]
    assert names == [f"$autocapture::elements_chain::click__~~__{chain}", "view::n::1"]
    clicked = got["events"][0]["event"]
    assert clicked["properties"] == {"$event_type": "click"}
    assert clicked["elements"][0] == {
        "tag_name": "button", "text": "Buy", "href": None, "attr_id": "go",
        "attr_class": ["primary"], "nth_child": 2, "nth_of_type": None, "attributes": {},
        "order": 0,
    }  # fmt: skip
    assert clicked["elements"][1]["attributes"] == {"attr__role": "main"}


@pytest.mark.parametrize(
    ("kind", "attr", "detail"),
    [
        ("properties", "funnel_correlation_names",
         "Property Correlation expects atleast one Property to run correlation on"),
        ("event_with_properties", "funnel_correlation_event_names",
         "Event Property Correlation expects atleast one event name to run correlation on"),
    ],
)  # fmt: skip
def test_missing_names_are_400s(spyglass, tenant, kind, attr, detail):
    with pytest.raises(ValidationError) as caught:
        run(spyglass, engine_project(tenant, "UTC"), {**TWO, "funnel_correlation_type": kind})
    assert (caught.value.attr, caught.value.detail, caught.value.status) == (attr, detail, 400)


def test_no_steps_and_unknown_type(spyglass, tenant):
    project = engine_project(tenant, "UTC")
    assert run(spyglass, project, {**MAY, "events": []}) == {"events": [], "skewed": True}
    ingest(spyglass, tenant, [*journey("s1", ["x"], True), *journey("f1", ["x"], False)])
    unknown = run(spyglass, project, {**TWO, "funnel_correlation_type": "nonsense"})
    # §5.1: an unknown type means events (the people URLs carry the type as sent)
    assert without_urls(unknown) == without_urls(run(spyglass, project, TWO))


def test_group_aggregation_correlates_group_properties(spyglass, tenant):
    # §5.3: aggregated by group, the candidates are the group's properties and the people
    # behind a row are group keys
    identify = [(f"owner{k}", at(-60), "$groupidentify",
                 {"$group_type": "company", "$group_key": k, "$group_set": {"size": size}})
                for k, size in (("c1", "big"), ("c2", "big"), ("c3", "small"))]  # fmt: skip
    steps = [("u1", "c1", "signup"), ("u1", "c1", "pay"), ("u2", "c2", "signup"),
             ("u2", "c2", "pay"), ("u3", "c3", "signup")]  # fmt: skip
    ingest(
        spyglass,
        tenant,
        identify
        + [
            (who, at(minute), event, {"$groups": {"company": key}})
            for minute, (who, key, event) in enumerate(steps)
        ],
    )
    project = engine_project(tenant, "UTC")
    filters = {**TWO, "aggregation_group_type_index": 0, "funnel_correlation_type": "properties",
               "funnel_correlation_names": ["size"]}  # fmt: skip
    got = run(spyglass, project, filters)
    assert [
        (r["event"]["event"], r["success_count"], r["failure_count"], r["odds_ratio"])
        for r in got["events"]
    ] == [("size::big", 2, 0, 6.0), ("size::small", 0, 1, 1 / 6)]
    point = {**filters, **describe_candidate("properties", "size::big", 0),
             "funnel_correlation_person_converted": "true"}  # fmt: skip
    total, page = spyglass.run(correlation_people(spyglass.services.store, project, point,
                                                  now=NOW, actions=ACTIONS))  # fmt: skip
    assert (total, sorted(p["id"] for p in page)) == (2, ["c1", "c2"])


PART = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8).filter(
    lambda t: ":" not in t
)  # fmt: skip


@given(kind=st.sampled_from(["events", "properties", "event_with_properties"]), event=PART,
       key=PART, value=st.text(max_size=12), group=st.sampled_from([None, 0, 2]))  # fmt: skip
def test_a_people_url_names_its_row(kind, event, key, value, group):
    # what a row's URL carries, read back by the persons endpoint, is that row's candidate
    name = {"events": event, "properties": f"{key}::{value}",
            "event_with_properties": f"{event}::{key}::{value}"}[kind]  # fmt: skip
    point = RowShape(7, {"insight": "FUNNELS", "funnel_correlation_type": kind},
                   parse_correlation({"funnel_correlation_type": kind,
                                      "funnel_correlation_names": ["x"],
                                      "funnel_correlation_event_names": ["x"]}), group)  # fmt: skip
    url = point.people_url(name, converted=False)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
    assert query["funnel_correlation_person_converted"] == "false"
    assert candidate_of(kind, query) == name
