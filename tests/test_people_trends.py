"""The people behind trends, stickiness and lifecycle points, against the oracle's numbers.

The random logs of test_trends_oracle.py are ingested once for this module. Hypothesis draws a
request, the engine's `persons_urls` are followed as a client would, and each point's people
must count to the oracle's value of that point: for maths that count actors (dau, weekly and
monthly active, unique groups) the value itself; for every other math the distinct actors
behind its events, which is the oracle's value of the same request with the math set to dau
(or unique_group when the math counts per group). Stickiness people count to the oracle's
k-day value, lifecycle people to the status's bar.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from resolvers.trends import OTHER_VALUE, compute_trends
from resolvers.trends_people import lifecycle_actors, stickiness_actors, trends_actors
from tests import test_trends_oracle as cases
from tests.oracles import trends as oracle
from tests.test_trends_oracle import (
    BREAKDOWNS,
    PROJECTS,
    SEASONS,
    SLOW,
    date_range,
    entity,
    sticky_request,
)

datasets = cases.datasets  # the same random logs, ingested once for this module
EVERY_DATASET = st.integers(0, len(SEASONS) * len(PROJECTS) - 1)

COUNTING = {"dau", "weekly_active", "monthly_active", "unique_group"}
RANKED_BY_EVENTS = {"total", "dau", "weekly_active", "monthly_active", "avg_count_per_actor",
                    "max_count_per_actor", "median_count_per_actor"}  # fmt: skip
POINTS_PER_EXAMPLE = 6  # the points followed per example keep the module's runtime modest


def follow(spyglass, ds, url: str, engine) -> list[dict]:
    filters = dict(parse_qsl(urlsplit(url).query))
    page = spyglass.run(engine(spyglass.services.store, ds.project, {**filters, "limit": 10_000},
                               now=ds.world.now, actions=ds.actions,
                               cohorts=ds.cohorts))  # fmt: skip
    ids = [row["actor"]["id"] for row in page.rows]
    assert len(ids) == len(set(ids)) == page.total, url
    return page.rows


def _key(item: dict) -> tuple:
    return (item.get("label"), item.get("compare_label"))


def _counted(request: dict) -> dict:
    """The same request counting the distinct actors behind each point's events."""
    ent = dict((request.get("events") or request.get("actions"))[0])
    group = ent.get("math_group_type_index")
    counts_groups = group is not None and ent.get("math") not in ("dau", "unique_session")
    ent["math"] = "unique_group" if counts_groups else "dau"
    ent.pop("math_property", None)
    kind = "events" if request.get("events") else "actions"
    return {**request, kind: [ent]}


@st.composite
def point_request(draw, base):
    interval = draw(st.sampled_from(["day", "day", "hour", "week", "month"]))
    ent = draw(entity())
    request: dict = {"interval": interval, **draw(date_range(interval, base))}
    request["actions" if ent.get("type") == "actions" else "events"] = [ent]
    request["display"] = draw(st.sampled_from(["ActionsLineGraph", "ActionsLineGraphCumulative",
                                               "ActionsTable", "ActionsLineGraph"]))  # fmt: skip
    if draw(st.integers(0, 2)) > 0:
        request.update(draw(st.sampled_from(BREAKDOWNS)))
        request["breakdown_limit"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 5)) == 0:
        request["compare"] = True
    return request


@settings(SLOW, max_examples=int(os.environ.get("SPYGLASS_PEOPLE_EXAMPLES", "40")))
@given(data=st.data(), which=EVERY_DATASET)
def test_trends_people_count_to_the_point(spyglass, datasets, data, which):
    ds = datasets[which]
    request = data.draw(point_request(SEASONS[ds.name.split("/")[0]]))
    if request.get("breakdown") == "COHORTS":  # as test_trends_oracle.py draws them
        choices = st.sampled_from(["all", *sorted(ds.cohorts)])
        request["breakdown"] = data.draw(st.lists(choices, min_size=1, max_size=3, unique=True))
    ent = (request.get("events") or request.get("actions"))[0]
    math = ent.get("math") or "total"
    cumulative = request["display"] == "ActionsLineGraphCumulative"
    if cumulative and math in ("weekly_active", "monthly_active"):
        return  # a running sum of rolling windows counts nobody in particular
    counted = _counted(request)
    counted_math = (counted.get("events") or counted.get("actions"))[0]["math"]
    if math in COUNTING:
        expected = oracle.trends(request, ds.world)
    elif ("breakdown" in request or "breakdowns" in request) and (math not in RANKED_BY_EVENTS
                                     or counted_math == "unique_group"):  # fmt: skip
        return  # the counting variant could rank, and keep, other breakdown values
    else:
        expected = oracle.trends(counted, ds.world)
    got = spyglass.run(compute_trends(spyglass.services.store, ds.project, request,
                                      now=ds.world.now, actions=ds.actions,
                                      cohorts=ds.cohorts))  # fmt: skip
    want = {_key(item): item for item in expected}
    points = []
    for item in got:
        if "persons" in item:
            points.append((item["persons"]["url"], want[_key(item)]["aggregated_value"]))
            continue
        values = want[_key(item)]["data"]
        points.extend(zip([u["url"] for u in item["persons_urls"]], values, strict=True))
    chosen = data.draw(st.lists(st.sampled_from(points), min_size=1, max_size=POINTS_PER_EXAMPLE,
                                unique_by=lambda p: p[0])) if points else []  # fmt: skip
    for url, value in chosen:
        people = follow(spyglass, ds, url, trends_actors)
        assert len(people) == value, (url, value)
        if dict(parse_qsl(urlsplit(url).query)).get("breakdown_value") == OTHER_VALUE:
            event("Other followed")
        event("people: " + ("none" if not people else "1-4" if len(people) < 5 else "5+"))
    event(f"math: {math}")
    if "breakdowns" in request:
        event("breakdown: multiple")
    elif "breakdown" in request:
        kind = request.get("breakdown_type", "event")
        event(f"breakdown: {'histogram' if 'breakdown_histogram_bin_count' in request else kind}")


def engine_and_oracle(spyglass, ds, request: dict) -> list[tuple[dict, dict]]:
    """The engine's items (for their URLs) beside the oracle's (for their values), in the
    order both give: series, then compare."""
    got = spyglass.run(compute_trends(spyglass.services.store, ds.project, request,
                                      now=ds.world.now, actions=ds.actions,
                                      cohorts=ds.cohorts))  # fmt: skip
    return list(zip(got, oracle.trends(request, ds.world), strict=True))


@pytest.mark.parametrize("kind", ["STICKINESS", "LIFECYCLE"])
@settings(SLOW, max_examples=25)
@given(data=st.data(), which=EVERY_DATASET)
def test_stickiness_and_lifecycle_people_count_to_the_point(spyglass, datasets, data, which,
                                                            kind):  # fmt: skip
    ds = datasets[which]
    request = data.draw(sticky_request(SEASONS[ds.name.split("/")[0]], kind))
    engine = stickiness_actors if kind == "STICKINESS" else lifecycle_actors
    for item, want in engine_and_oracle(spyglass, ds, request):
        assert item.get("status") == want.get("status")
        pairs = list(zip([u["url"] for u in item["persons_urls"]], want["data"], strict=True))
        for url, value in data.draw(st.lists(st.sampled_from(pairs), max_size=3)) if pairs else []:
            assert len(follow(spyglass, ds, url, engine)) == abs(value), url  # dormant: negative
            event(f"{item.get('status', 'k days')} people: {'none' if not value else 'some'}")


def test_a_point_over_http_pages_its_people(spyglass, datasets):
    ds = datasets[0]
    request = {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d",
               "display": "ActionsTable"}  # fmt: skip
    got = spyglass.run(compute_trends(spyglass.services.store, ds.project, request,
                                      now=ds.world.now, actions=ds.actions,
                                      cohorts=ds.cohorts))  # fmt: skip
    url = got[0]["persons"]["url"]
    assert url.startswith(f"api/projects/{ds.project['id']}/persons/trends/?")
    everyone = follow(spyglass, ds, url, trends_actors)
    assert len(everyone) == got[0]["aggregated_value"] > 3
