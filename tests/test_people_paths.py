"""The people behind path nodes and edges, against the oracle's `paths_people` (spec B8).

The random logs of test_paths_oracle.py are ingested once for this module; hypothesis draws a
paths request and a node or edge of the oracle's answer, and the serialised persons must be
exactly the oracle's, in person-id order, each with the distinct ids the oracle knows it by.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from resolvers.people import path_actors
from tests import test_paths_oracle as cases
from tests.oracles import paths as oracle

logs = cases.logs  # the same random logs, ingested once for this module


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(filters=cases.requests(), which=st.integers(0, 2),
       timezone=st.sampled_from(["UTC", "America/New_York"]), data=st.data())  # fmt: skip
def test_path_people_are_the_oracles(spyglass, logs, filters, which, timezone, data):
    tenant, events, uuid_of = logs[which]
    project, world = cases.project_of(tenant, timezone), cases.world_of(events, timezone)
    keys = data.draw(cases.people_keys(oracle.paths(filters, world)))
    query = {**filters, **keys, "limit": 1000}
    want = sorted(oracle.paths_people(query, world), key=lambda p: uuid_of[p])
    page = cases.run(spyglass, project, query, path_actors)
    assert [r["actor"]["id"] for r in page.rows] == [uuid_of[p] for p in want], query
    assert page.total == len(want)
    for row, person in zip(page.rows, want, strict=True):
        assert person in row["actor"]["distinct_ids"] and row["actor"]["type"] == "person"
    event("keys: " + ("+".join(sorted(keys)) or "none"))
    event(f"people: {'none' if not want else 'some'}")


def test_pages_of_path_people_cover_everyone_once(spyglass, logs):
    tenant, events, uuid_of = logs[0]
    project = cases.project_of(tenant, "UTC")
    everyone = cases.run(spyglass, project, {"date_from": "all", "limit": 1000}, path_actors)
    assert everyone.total > 5
    seen = []
    for offset in range(0, everyone.total, 4):
        page = cases.run(spyglass, project, {"date_from": "all", "limit": 4, "offset": offset},
                         path_actors)  # fmt: skip
        seen += [r["actor"]["id"] for r in page.rows]
    assert seen == [r["actor"]["id"] for r in everyone.rows]
