"""Funnel paths (spec B7) against the oracle: tests/oracles/paths.py, which takes each person's
step times from the funnel oracle (tests/oracles/funnels.py), both written from the spec.

The random logs of test_paths_oracle.py (ties, repeats, gaps of exactly 30 minutes, merged
persons, a DST change) are ingested once for this module. Hypothesis draws a paths request and
a funnel over the same events — steps by event or by URL, ordered, strict or unordered, windows
from 30 minutes to a month, an exclusion now and then — plus the direction and the step
(positive or a dropoff); the edges must equal the oracle's, and on a quarter of the examples so
must the people behind a node or an edge.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.errors import ValidationError
from resolvers.paths import paths_people
from tests import test_paths_oracle as cases
from tests.oracles import paths as oracle

logs = cases.logs  # the same random logs, ingested once for this module


def _url(url: str) -> dict:
    return {"id": "$pageview", "type": "events", "properties": [
        {"key": "$current_url", "value": url, "operator": "exact", "type": "event"}]}  # fmt: skip


STEPS = [{"id": "$pageview", "type": "events"}] * 2 + [_url("/pricing"), _url("/home/"),
         _url("/blog/1"), {"id": "$screen", "type": "events"}, {"id": "click", "type": "events"},
         {"id": "signed_up", "type": "events"}]  # fmt: skip
WINDOWS = [
    {"funnel_window_interval": 30, "funnel_window_interval_unit": "minute"},
    {"funnel_window_interval": 2, "funnel_window_interval_unit": "hour"},
    {"funnel_window_days": 1},
    {"funnel_window_interval": 1, "funnel_window_interval_type": "WEEK"},
    {"funnel_window_interval": 1, "funnel_window_interval_unit": "month"},
    {},  # 14 days
]
KINDS = ["funnel_path_after_step", "funnel_path_before_step", "funnel_path_between_steps"]


def _overlapping(steps: list[dict]) -> bool:
    """Can one event match two of these steps? (Every pageview matches a plain $pageview.)"""
    urls = [s for s in steps if s.get("properties")]
    return len({str(s) for s in steps}) < len(steps) or (bool(urls) and STEPS[0] in steps)


@st.composite
def funnel_paths(draw):
    filters = draw(cases.requests())
    if draw(st.booleans()):  # points cut most paths away: half the time, whole paths
        filters = {k: v for k, v in filters.items() if k not in ("start_point", "end_point")}
    n = draw(st.sampled_from([2, 3, 2, 1]))  # mostly steps with a step before them
    steps = [draw(st.sampled_from(STEPS)) for _ in range(n)]
    funnel: dict = {"events": [{**s, "order": i} for i, s in enumerate(steps)],
                    **draw(st.sampled_from(WINDOWS)),
                    "date_from": draw(st.sampled_from(["-7d", "all", "2021-03-14"]))}  # fmt: skip
    order = draw(st.sampled_from(["ordered", "ordered", "strict", "unordered"]))
    if order == "unordered" and _overlapping(steps):
        order = "ordered"  # the engine's unordered funnel is exact when no event matches two
    funnel["funnel_order_type"] = order
    if n > 1 and draw(st.integers(0, 4)) == 0:
        funnel["exclusions"] = [{"id": "$autocapture", "type": "events", "funnel_from_step": 0,
                                 "funnel_to_step": n - 1}]  # fmt: skip
    kind = draw(st.sampled_from(KINDS))
    low = 2 if kind == "funnel_path_between_steps" else 1  # between: a step before the reference
    reached = list(range(low, n + 1))
    dropped = [-s for s in range(low + 1, n + 1)]  # -N: the reference is step N-1
    if not reached:
        kind, reached = "funnel_path_after_step", [1]
    step = draw(st.sampled_from(dropped if dropped and draw(st.booleans()) else reached))
    where = draw(st.sampled_from(["paths", "funnel"]))  # funnel_step in either filter
    if where == "funnel":
        funnel["funnel_step"] = step
    else:
        filters["funnel_step"] = step
    return {**filters, "funnel_paths": kind, "funnel_filter": funnel}


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(filters=funnel_paths(), which=st.integers(0, 2),
       timezone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
       data=st.data())  # fmt: skip
def test_funnel_paths_match_the_oracle(spyglass, logs, filters, which, timezone, data):
    tenant, events, uuid_of = logs[which]
    project, world = cases.project_of(tenant, timezone), cases.world_of(events, timezone)
    step = filters.get("funnel_step", filters["funnel_filter"].get("funnel_step"))
    event(f"{filters['funnel_paths']} {'dropoff' if step < 0 else 'reached'}")
    expected = oracle.paths(filters, world)
    got = cases.run(spyglass, project, filters)
    event(f"edges: {'none' if not expected else '1-9' if len(expected) < 10 else '10+'}")
    assert cases.same_edges(got, expected), (filters, got[:5], expected[:5])

    if data.draw(st.integers(0, 3)) > 0:  # people on a quarter of the examples
        return
    keys = data.draw(cases.people_keys(expected))
    query = {**filters, **keys, "limit": 1000}
    want = sorted(uuid_of[p] for p in oracle.paths_people(query, world))
    found = cases.run(spyglass, project, query, paths_people)
    event(f"people: {'none' if not want else 'some'}")
    assert found["results"] == want and found["total"] == len(want), query


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(filters=funnel_paths(), which=st.integers(0, 2), bad=st.sampled_from(["0", "-1", "9"]))
def test_a_step_the_funnel_lacks_is_refused_by_both(spyglass, logs, filters, which, bad):
    tenant, events, _ = logs[which]
    filters = {**filters, "funnel_step": bad}
    try:
        oracle.paths(filters, cases.world_of(events, "UTC"))
    except ValueError as refused:
        assert str(refused).startswith("funnel_step")
    else:
        raise AssertionError("the oracle accepted funnel_step " + bad)
    try:
        cases.run(spyglass, cases.project_of(tenant, "UTC"), filters)
    except ValidationError as refused:
        assert refused.attr == "funnel_step"
    else:
        raise AssertionError("the engine accepted funnel_step " + bad)
