"""The people behind retention cells, against the oracle's `retention_people` (spec A7).

The random logs of test_retention_oracle.py are ingested once for this module; hypothesis draws
a retention request, and the `people_url` of some cells is followed as a client would: the
actors, their `appearances` and their order must be the oracle's for that URL's parameters,
with each actor serialised (merged persons once, with all their distinct ids).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from resolvers.people import retention_actors
from resolvers.retention import compute_retention
from tests import test_retention_oracle as cases
from tests.oracles import retention as oracle

logs = cases.logs  # the same random logs, ingested once for this module


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(request=cases.requests(), which=st.integers(0, len(cases.ANCHORS) - 1),
       timezone=st.sampled_from(cases.TIMEZONES), data=st.data())  # fmt: skip
def test_cell_people_are_the_oracles(spyglass, logs, request, which, timezone, data):
    tenant, events, uuid_of, anchor = logs[which]
    filters = cases.finish(request, anchor, timezone)
    world = cases.oracle_world(events, timezone, 0)
    project = cases.engine_project(tenant, timezone, 0)
    rows = cases.run_engine(spyglass, project, filters, compute_retention)
    cells = [(k, cell) for row in rows
             for k, cell in enumerate(row["values"]) if "people_url" in cell]  # fmt: skip
    if not cells:
        event("no cell with people")
        return
    grouped = "aggregation_group_type_index" in filters
    for k, cell in data.draw(st.lists(st.sampled_from(cells), min_size=1, max_size=3)):
        query = dict(parse_qsl(urlsplit(cell["people_url"]).query))
        assert urlsplit(cell["people_url"]).path.endswith("/persons/retention/")
        page = cases.run_engine(spyglass, project, {**query, "limit": 10_000}, retention_actors)
        want = oracle.retention_people(query, world)
        expected = sorted(
            ((a["actor"] if grouped else uuid_of[a["actor"]], a["appearances"]) for a in want),
            key=lambda pair: (-sum(pair[1]), pair[0]),
        )
        assert [(r["actor"]["id"], r["appearances"]) for r in page.rows] == expected, query
        assert page.total == len(expected)
        if k == 0:  # the first cell of a row counts its whole cohort
            assert page.total == cell["count"]
        if not grouped:
            for row, person in zip(page.rows, sorted(want, key=lambda a: (
                    -sum(a["appearances"]), uuid_of[a["actor"]])), strict=True):  # fmt: skip
                assert person["actor"] in row["actor"]["distinct_ids"]
        event("breakdown" if "breakdowns" in filters else "table")
