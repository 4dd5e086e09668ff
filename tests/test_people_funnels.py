"""The people behind funnel steps, against the oracle's `_converted_people`/`_dropped_people`.

The random logs of test_funnels_oracle.py (many attempts, ties, merged persons, groups) are
ingested once for this module; hypothesis draws steps-viz funnels of every order type, and each
step's `converted_people_url` and `dropped_people_url` are followed as a client would: the
actors must be exactly the oracle's, per breakdown value too.
"""

from __future__ import annotations

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


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), order_type=st.sampled_from(["ordered", "strict", "unordered"]),
       which=st.integers(0, 2), timezone=st.sampled_from(cases.TIMEZONES))  # fmt: skip
def test_step_people_are_the_oracles(spyglass, logs, data, order_type, which, timezone):
    filters = {**data.draw(cases.funnels(order_type)), "funnel_viz_type": "steps"}
    filters.pop("interval", None)
    tenant, events, uuid_of = logs[which]
    world = cases.oracle_world(events, timezone)
    project = cases.engine_project(tenant, timezone)
    try:
        expected = oracle.funnel(filters, world)
    except oracle.FunnelValidationError:
        return
    got = cases.run_engine(spyglass, project, filters)
    grouped = "aggregation_group_type_index" in filters
    to_engine = (lambda a: a) if grouped else uuid_of.get
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
