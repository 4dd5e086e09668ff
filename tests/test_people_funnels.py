"""The people behind funnel steps, against the oracle's `_converted_people`/`_dropped_people`.

The random logs of test_funnels_oracle.py (many attempts, ties, merged persons, groups) are
ingested once for this module; hypothesis draws steps-viz funnels of every order type, and each
step's `converted_people_url` and `dropped_people_url` are followed as a client would: the
actors must be exactly the oracle's, per breakdown value too.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.errors import ValidationError
from resolvers.funnels_people import funnel_people
from tests import test_funnels_oracle as cases
from tests.oracles import funnels as oracle

logs = cases.logs  # the same random logs, ingested once for this module
NOW = cases.NOW


def follow(spyglass, project, url: str) -> set[str]:
    filters = dict(parse_qsl(urlsplit(url).query))
    assert urlsplit(url).path == f"api/projects/{project['id']}/persons/funnel/"
    page = spyglass.run(funnel_people(spyglass.services.store, project,
                                      {**filters, "limit": 10_000}, now=NOW,
                                      actions=cases.ACTIONS))  # fmt: skip
    ids = [row["actor"]["id"] for row in page.rows]
    assert len(ids) == len(set(ids)) == page.total
    return set(ids)


def oracle_case(logs, filters: dict, which: int, timezone: str):
    """(the engine's project, the oracle's result or None when it refuses the funnel, the
    oracle's actor ids → the engine's)."""
    tenant, events, uuid_of = logs[which]
    project = cases.engine_project(tenant, timezone)
    try:
        expected = oracle.funnel(filters, cases.oracle_world(events, timezone))
    except oracle.FunnelValidationError:
        expected = None
    grouped = "aggregation_group_type_index" in filters
    return project, expected, (lambda a: a) if grouped else uuid_of.get


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), order_type=st.sampled_from(["ordered", "strict", "unordered"]),
       which=st.integers(0, 2), timezone=st.sampled_from(cases.TIMEZONES))  # fmt: skip
def test_step_people_are_the_oracles(spyglass, logs, data, order_type, which, timezone):
    filters = {**data.draw(cases.funnels(order_type)), "funnel_viz_type": "steps"}
    filters.pop("interval", None)
    project, expected, to_engine = oracle_case(logs, filters, which, timezone)
    if expected is None:
        return
    got = cases.run_engine(spyglass, project, filters)
    series = list(zip(got, expected, strict=True))
    if got and isinstance(got[0], dict):
        series = [(got, expected)]
    for steps, wants in series:
        for k, (step, want) in enumerate(zip(steps, wants, strict=True)):
            converted = {to_engine(a) for a in want["_converted_people"]}
            assert follow(spyglass, project, step["converted_people_url"]) == converted, (
                k,
                filters,
            )
            if k == 0:
                assert step["dropped_people_url"] is None
                continue
            dropped = {to_engine(a) for a in want["_dropped_people"]}
            assert follow(spyglass, project, step["dropped_people_url"]) == dropped, (k, filters)
            event(f"dropped people: {'none' if not dropped else 'some'}")
    event("breakdown" if "breakdown" in filters or "breakdowns" in filters else "no breakdown")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), order_type=st.sampled_from(["ordered", "strict", "unordered"]),
       which=st.integers(0, 2), timezone=st.sampled_from(cases.TIMEZONES))  # fmt: skip
def test_trends_bucket_people_are_the_oracles(spyglass, logs, data, order_type, which, timezone):
    filters = data.draw(cases.funnels(order_type))
    if filters.get("funnel_viz_type") != "trends":
        filters = {**filters, "funnel_viz_type": "trends", "interval": "day",
                   "date_from": "2021-05-01", "date_to": "2021-05-09"}  # fmt: skip
    project, expected, to_engine = oracle_case(logs, filters, which, timezone)
    for row in expected or []:
        buckets = list(enumerate(row["days"]))
        for i, day in data.draw(st.lists(st.sampled_from(buckets), max_size=2)):
            point = {"entrance_period_start": day, "limit": 10_000}
            if "breakdown_value" in row:
                point["funnel_step_breakdown"] = json.dumps(row["breakdown_value"])
            converted = {to_engine(a) for a in row["_reached_to_people"][i]}
            dropped = {to_engine(a) for a in row["_reached_from_people"][i]} - converted
            for drop_off, want in ((False, converted), (True, dropped)):
                page = spyglass.run(funnel_people(
                    spyglass.services.store, project, {**filters, **point, "drop_off": drop_off},
                    now=NOW, actions=cases.ACTIONS))  # fmt: skip
                assert {r["actor"]["id"] for r in page.rows} == want, (filters, day, drop_off)
            event(f"bucket people: {'none' if not converted | dropped else 'some'}")


def test_bad_steps_are_refused(spyglass, logs):
    tenant = logs[0][0]
    project = cases.engine_project(tenant, "UTC")
    two = {"events": [{"id": "a", "order": 0}, {"id": "b", "order": 1}], "date_from": "all"}
    for step in (None, "0", "-1", "3", "-3", "x"):
        with pytest.raises(ValidationError) as caught:
            spyglass.run(funnel_people(spyglass.services.store, project,
                                       {**two, "funnel_step": step}, now=NOW))  # fmt: skip
        assert caught.value.attr == "funnel_step"
    custom = {**two, "funnel_custom_steps": "[2]"}
    page = spyglass.run(funnel_people(spyglass.services.store, project, custom, now=NOW))
    reached = spyglass.run(funnel_people(spyglass.services.store, project,
                                         {**two, "funnel_step": "2"}, now=NOW))  # fmt: skip
    assert page.total == reached.total  # furthest exactly 2 of 2 = reached step 2
