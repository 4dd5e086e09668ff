"""Funnel paths (spec retention_paths.md B7) by example: the engine, REST (GET with the funnel
filter as a JSON string, POST with an object), the people behind a node, a saved PATHS insight
and GraphQL's typed `paths` filter.

The world of tests/oracles/test_oracle_paths.py's B7 examples: `conv` walks /home → /signup →
/pricing → /pay → /thanks an hour apart, `drop` walks /home → /signup → /docs; the funnel is
/signup → /pay within 7 days.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.errors import ValidationError
from resolvers.paths import compute_paths, paths_people

NOW = datetime(2021, 3, 20, 12, tzinfo=UTC)
T0 = datetime(2021, 3, 18, 10, tzinfo=UTC)
JOURNEYS = {"conv": ["/home", "/signup", "/pricing", "/pay", "/thanks"],
            "drop": ["/home", "/signup", "/docs"]}  # fmt: skip


def step(url: str) -> dict:
    return {"id": "$pageview", "type": "events", "properties": [
        {"key": "$current_url", "value": url, "operator": "exact", "type": "event"}]}  # fmt: skip


FUNNEL = {"events": [step("/signup"), step("/pay")], "funnel_window_days": 7,
          "date_from": "2021-03-17", "date_to": "2021-03-19"}  # fmt: skip
BASE = {"date_from": "2021-03-17", "date_to": "2021-03-19", "funnel_filter": FUNNEL}


@pytest.fixture
def journeys(spyglass, tenant):
    batch = [{"event": "$pageview", "distinct_id": who,
              "timestamp": (T0 + timedelta(hours=i)).isoformat(),
              "properties": {"$current_url": url}}
             for who, urls in JOURNEYS.items() for i, url in enumerate(urls)]  # fmt: skip
    r = httpx.post(f"{spyglass.url}/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200, r.text
    return tenant


def run(spyglass, tenant, filters, fn=compute_paths):
    project = {"id": tenant["id"], "timezone": "UTC"}
    return spyglass.run(fn(spyglass.services.store, project, filters, now=NOW))


def edges(result: list[dict]) -> list[tuple]:
    return [(e["source"], e["target"], e["value"], e["average_conversion_time"]) for e in result]


HOUR = 3_600_000.0


def test_after_step_keeps_events_from_the_step_on(spyglass, journeys):
    # an hour between events is no new session: the threshold is the 7-day funnel window
    filters = {**BASE, "funnel_paths": "funnel_path_after_step", "funnel_step": 2}
    assert edges(run(spyglass, journeys, filters)) == [("1_/pay", "2_/thanks", 1, HOUR)]


def test_before_step_and_dropoff(spyglass, journeys):
    before = {**BASE, "funnel_paths": "funnel_path_before_step", "funnel_step": 2}
    assert edges(run(spyglass, journeys, before)) == [
        ("1_/home", "2_/signup", 1, HOUR), ("2_/signup", "3_/pricing", 1, HOUR),
        ("3_/pricing", "4_/pay", 1, HOUR)]  # fmt: skip
    # -2: reached /signup, never /pay; their events up to /signup's time + the window
    dropped = run(spyglass, journeys, {**before, "funnel_step": -2})
    assert edges(dropped) == [("1_/home", "2_/signup", 1, HOUR), ("2_/signup", "3_/docs", 1, HOUR)]


def test_between_steps_reads_the_step_from_the_funnel_filter(spyglass, journeys):
    filters = {**BASE, "funnel_paths": "funnel_path_between_steps",
               "funnel_filter": json.dumps({**FUNNEL, "funnel_step": 2})}  # fmt: skip
    assert edges(run(spyglass, journeys, filters)) == [
        ("1_/signup", "2_/pricing", 1, HOUR), ("2_/pricing", "3_/pay", 1, HOUR)]  # fmt: skip


def test_the_funnel_window_is_the_session_threshold(spyglass, journeys):
    funnel = {**FUNNEL, "funnel_window_days": None, "funnel_window_interval": 2,
              "funnel_window_interval_unit": "hour"}  # fmt: skip
    filters = {**BASE, "funnel_filter": funnel, "funnel_paths": "funnel_path_after_step",
               "funnel_step": 1}  # fmt: skip
    # gaps of an hour inside a two-hour window: one session each
    assert [(e["source"], e["target"]) for e in run(spyglass, journeys, filters)] == [
        ("1_/signup", "2_/docs"), ("1_/signup", "2_/pricing"), ("2_/pricing", "3_/pay"),
        ("3_/pay", "4_/thanks")]  # fmt: skip
    # a gap of exactly the window opens a new session: every event is alone
    funnel["funnel_window_interval"] = 1
    assert run(spyglass, journeys, filters) == []


def test_people_behind_a_funnel_path_node(spyglass, journeys):
    filters = {**BASE, "funnel_paths": "funnel_path_before_step", "funnel_step": 2,
               "path_end_key": "2_/signup"}  # fmt: skip
    found = run(spyglass, journeys, filters, paths_people)
    assert found["total"] == 1  # only the converter; `drop` did not reach step 2
    dropped = run(spyglass, journeys, {**filters, "funnel_step": -2}, paths_people)
    assert dropped["total"] == 1 and dropped["results"] != found["results"]


@pytest.mark.parametrize(("filters", "attr"), [
    ({"funnel_paths": "funnel_path_after_step", "funnel_filter": None}, "funnel_filter"),
    ({"funnel_paths": "funnel_path_after_step", "funnel_filter": "{oops"}, "funnel_filter"),
    ({"funnel_paths": "funnel_path_after_step", "funnel_filter": "[1]"}, "funnel_filter"),
    ({"funnel_paths": "funnel_path_sideways", "funnel_step": 1}, "funnel_paths"),
    ({"funnel_paths": "funnel_path_after_step"}, "funnel_step"),
    ({"funnel_paths": "funnel_path_after_step", "funnel_step": 0}, "funnel_step"),
    ({"funnel_paths": "funnel_path_after_step", "funnel_step": -1}, "funnel_step"),
    ({"funnel_paths": "funnel_path_after_step", "funnel_step": 3}, "funnel_step"),
    ({"funnel_paths": "funnel_path_before_step", "funnel_step": -3}, "funnel_step"),
    ({"funnel_paths": "funnel_path_after_step", "funnel_step": "two"}, "funnel_step"),
    ({"funnel_paths": "funnel_path_between_steps", "funnel_step": 1}, "funnel_step"),
    ({"funnel_paths": "funnel_path_between_steps", "funnel_step": -2}, "funnel_step"),
    ({"funnel_paths": "funnel_path_after_step", "funnel_step": 1,
      "funnel_filter": {**FUNNEL, "funnel_window_interval_unit": "fortnight",
                        "funnel_window_days": None}},
     "funnel_filter.funnel_window_interval_unit"),
    ({"funnel_paths": "funnel_path_after_step", "funnel_step": 1,
      "funnel_filter": {"events": []}}, "funnel_filter"),
    ({"funnel_paths": "funnel_path_after_step", "funnel_step": 1,
      "funnel_filter": {**FUNNEL, "aggregation_group_type_index": 0}},
     "funnel_filter.aggregation_group_type_index"),
])  # fmt: skip
def test_bad_funnel_paths_name_the_field(spyglass, tenant, filters, attr):
    with pytest.raises(ValidationError) as caught:
        run(spyglass, tenant, {**BASE, **filters})
    assert caught.value.attr == attr, caught.value.detail


# -- over the wire -----------------------------------------------------------------------------


def client(spyglass, tenant) -> httpx.Client:
    return httpx.Client(base_url=spyglass.url, timeout=60,
                        headers={"Authorization": f"Bearer {tenant['key']}"})  # fmt: skip


AFTER = [{"source": "1_/pay", "target": "2_/thanks", "value": 1, "average_conversion_time": HOUR}]


def test_rest_get_takes_the_funnel_filter_as_json_and_post_as_an_object(spyglass, journeys):
    url = f"/api/projects/{journeys['id']}/insights/path/"
    query = {**BASE, "funnel_filter": json.dumps(FUNNEL), "funnel_paths":
             "funnel_path_after_step", "funnel_step": "2"}  # fmt: skip
    with client(spyglass, journeys) as c:
        got = c.get(url, params=query)
        posted = c.post(url, json={**BASE, "funnel_paths": "funnel_path_after_step",
                                   "funnel_step": 2})  # fmt: skip
        bad = c.get(url, params={**query, "funnel_filter": "{oops"})
    assert got.status_code == 200, got.text
    assert got.json()["result"] == AFTER and posted.json()["result"] == AFTER
    assert bad.status_code == 400 and bad.json()["attr"] == "funnel_filter"


def test_rest_people_behind_a_funnel_path_edge(spyglass, journeys):
    query = {**BASE, "funnel_filter": json.dumps(FUNNEL), "funnel_paths":
             "funnel_path_before_step", "funnel_step": "-2", "path_start_key": "2_/signup",
             "path_end_key": "3_/docs"}  # fmt: skip
    with client(spyglass, journeys) as c:
        r = c.get(f"/api/projects/{journeys['id']}/persons/path/", params=query)
    assert r.status_code == 200, r.text
    people = r.json()["results"][0]["people"]
    assert [p["distinct_ids"] for p in people] == [["drop"]]


def test_a_saved_paths_insight_computes_funnel_paths(spyglass, journeys):
    filters = {**BASE, "insight": "PATHS", "funnel_paths": "funnel_path_after_step",
               "funnel_step": 2}  # fmt: skip
    with client(spyglass, journeys) as c:
        made = c.post(f"/api/projects/{journeys['id']}/insights/",
                      json={"name": "After paying", "filters": filters})  # fmt: skip
        assert made.status_code == 201, made.text
        r = c.get(f"/api/projects/{journeys['id']}/insights/{made.json()['id']}/",
                  params={"refresh": "true"})  # fmt: skip
    assert r.status_code == 200 and r.json()["result"] == AFTER, r.text


def test_graphql_typed_paths_filter_takes_funnel_paths(spyglass, journeys):
    query = """query ($p: String!, $f: PathsFilterInput!) {
      paths(projectId: $p, filter: $f, refresh: true) { result } }"""
    typed = {"dateFrom": BASE["date_from"], "dateTo": BASE["date_to"], "funnelFilter": FUNNEL,
             "funnelPaths": "FUNNEL_PATH_AFTER_STEP", "funnelStep": 2}  # fmt: skip
    r = httpx.post(f"{spyglass.url}/graphql", json={"query": query, "variables": {
        "p": str(journeys["id"]), "f": typed}},
        headers={"Authorization": f"Bearer {journeys['key']}"}, timeout=60)  # fmt: skip
    body = r.json()
    assert "errors" not in body, body
    assert body["data"]["paths"]["result"] == AFTER
