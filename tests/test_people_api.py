"""The persons paths over HTTP: the URLs insight results carry lead to the people behind each
number, paged with absolute links, as JSON or CSV, through REST and GraphQL alike; reading
people needs `person:read` on the project."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.test_insights_api import client


@pytest.fixture(scope="module")
def shop(spyglass):
    tenant = spyglass.new_project()
    batch = []
    for i in range(12):  # person i views on i % 5 + 1 days and buys when i is even
        for day in range(i % 5 + 1):
            batch.append({"event": "$pageview", "distinct_id": f"u{i}",
                          "timestamp": f"2024-03-0{day + 1}T10:00:00Z",
                          "properties": {"$current_url": f"/p{day % 2}", "$set": {
                              "email": f"u{i}@shop.io", "plan": f"p{i % 3}"}}})  # fmt: skip
            batch.append({"event": "$pageview", "distinct_id": f"u{i}",  # the same session
                          "timestamp": f"2024-03-0{day + 1}T10:10:00Z",
                          "properties": {"$current_url": "/next"}})  # fmt: skip
        if i % 2 == 0:
            batch.append({"event": "buy", "distinct_id": f"u{i}",
                          "timestamp": f"2024-03-0{i % 5 + 1}T11:00:00Z"})  # fmt: skip
    batch = [{"uuid": str(uuid.uuid4()), **m} for m in batch]
    r = httpx.post(spyglass.url + "/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200, r.text
    return tenant


RANGE = {"date_from": "2024-03-01", "date_to": "2024-03-05"}
ONE_STEP = '[{"id": "a"}]'


def test_trend_points_lead_to_their_people(spyglass, shop):
    with client(spyglass, shop) as c:
        trend = c.get(f"/api/projects/{shop['id']}/insights/trend/", params={
            **RANGE, "events": '[{"id": "$pageview", "math": "dau"}]',
            "breakdown": "plan", "breakdown_type": "person"}).json()["result"]  # fmt: skip
        assert len(trend) == 3
        for series in trend:
            for value, point in zip(series["data"], series["persons_urls"], strict=True):
                assert point["url"].startswith(f"api/projects/{shop['id']}/persons/trends/")
                body = c.get("/" + point["url"]).json()
                people = body["results"][0]["people"]
                assert len(people) == body["results"][0]["count"] == value
                assert all(p["properties"]["plan"] == series["breakdown_value"]
                           for p in people) or not people  # fmt: skip


def test_pages_link_absolutely_and_cover_everyone(spyglass, shop):
    with client(spyglass, shop) as c:
        trend = c.get(f"/api/projects/{shop['id']}/insights/trend/", params={
            **RANGE, "events": '[{"id": "$pageview", "math": "dau"}]',
            "display": "ActionsTable"}).json()["result"][0]  # fmt: skip
        body = c.get("/" + trend["persons"]["url"] + "&limit=5").json()
        assert body["previous"] is None
        pages = [[p["id"] for p in body["results"][0]["people"]]]
        while body["next"]:
            assert body["next"].startswith(spyglass.url + "/")
            body = c.get(body["next"]).json()
            pages.append([p["id"] for p in body["results"][0]["people"]])
            back = c.get(body["previous"]).json()  # previous leads back one page
            assert [p["id"] for p in back["results"][0]["people"]] == pages[-2]
        seen = [person for page in pages for person in page]
        assert [len(page) for page in pages] == [5, 5, 2]
        assert len(seen) == len(set(seen)) == trend["aggregated_value"] == 12
        assert body["missing_persons"] == 0


def test_funnel_steps_lead_to_converted_and_dropped_people(spyglass, shop):
    with client(spyglass, shop) as c:
        steps = c.get(f"/api/projects/{shop['id']}/insights/funnel/", params={
            **RANGE, "events": '[{"id": "$pageview", "order": 0}, {"id": "buy", "order": 1}]',
        }).json()["result"]  # fmt: skip
        assert [s["count"] for s in steps] == [12, 6] and steps[0]["dropped_people_url"] is None
        assert steps[1]["converted_people_url"].startswith(spyglass.url + "/api/projects/")
        bought = c.get(steps[1]["converted_people_url"]).json()["results"][0]["people"]
        dropped = c.get(steps[1]["dropped_people_url"]).json()["results"][0]["people"]
        assert sorted(p["name"] for p in bought) == [f"u{i}@shop.io" for i in (0, 10, 2, 4, 6, 8)]
        assert len(dropped) == 6 and not {p["id"] for p in bought} & {p["id"] for p in dropped}
        legacy = c.get("/api/person/funnel/", params={
            **RANGE, "events": '[{"id": "$pageview", "order": 0}, {"id": "buy", "order": 1}]',
            "funnel_step": 2}).json()  # fmt: skip
        assert legacy["results"][0]["count"] == 6  # the key's (only) project
        trends = {**RANGE, "events": '[{"id": "$pageview", "order": 0}, {"id": "buy", "order": 1}]',
                  "funnel_viz_type": "trends", "entrance_period_start": "2024-03-01"}  # fmt: skip
        path = f"/api/projects/{shop['id']}/persons/funnel/"
        converted = c.get(path, params={**trends, "drop_off": "false"}).json()
        dropped = c.get(path, params={**trends, "drop_off": "true"}).json()
        assert converted["results"][0]["count"] == dropped["results"][0]["count"] == 6


def test_retention_cells_lead_to_their_cohorts(spyglass, shop):
    with client(spyglass, shop) as c:
        rows = c.get(f"/api/projects/{shop['id']}/insights/retention/", params={
            "date_to": "2024-03-05", "total_intervals": 5,
            "target_entity": '{"id": "$pageview", "type": "events"}'}).json()["result"]  # fmt: skip
        cell = rows[0]["values"][1]
        assert cell["people_url"].startswith(spyglass.url + "/api/projects/")
        body = c.get(cell["people_url"]).json()
        assert len(body["result"]) == rows[0]["values"][0]["count"]
        assert all(len(r["appearances"]) == 4 for r in body["result"])  # cut at interval 1
        assert sum(r["appearances"][1] for r in body["result"]) == cell["count"]
        assert set(body) >= {"result", "next", "missing_persons"}


def test_path_nodes_lead_to_their_people_as_csv(spyglass, shop):
    with client(spyglass, shop) as c:
        r = c.get(
            f"/api/projects/{shop['id']}/persons/path/",
            params={**RANGE, "path_start_key": "1_/p1", "path_end_key": "2_/next", "format": "csv"},
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        lines = r.text.strip().splitlines()
        assert "distinct_ids.0" in lines[0] and len(lines) == 1 + 9  # everyone on 2+ days


def test_graphql_answers_the_same_people(spyglass, shop):
    query = """query ($p: String!, $f: JSON!) { funnelPeople(projectId: $p, filters: $f,
        point: {funnelStep: 2}) { count results { actor { ... on PersonActor { name } } } } }"""
    filters = {**RANGE, "events": [{"id": "$pageview", "order": 0}, {"id": "buy", "order": 1}]}
    r = httpx.post(
        spyglass.url + "/graphql",
        json={"query": query, "variables": {"p": str(shop["id"]), "f": filters}},
        headers={"Authorization": f"Bearer {shop['key']}"},
    )
    assert r.json()["data"]["funnelPeople"]["count"] == 6, r.text


def test_people_need_the_person_scope(spyglass):
    insights_only = spyglass.new_project(scopes=["insight:read"])
    people = spyglass.new_project(scopes=["person:read"])
    params = {"funnel_step": 1, "events": ONE_STEP}
    with client(spyglass, insights_only) as c:
        path = f"/api/projects/{insights_only['id']}/persons/funnel/"
        assert c.get(path, params=params).status_code == 403
    with client(spyglass, people) as c:
        assert (
            c.get(f"/api/projects/{people['id']}/persons/funnel/", params=params).status_code == 200
        )


def test_bad_points_are_400s_naming_the_field(spyglass, shop):
    with client(spyglass, shop) as c:
        base = f"/api/projects/{shop['id']}/persons"
        for path, params, attr in (
            ("funnel", {"funnel_step": 0, "events": ONE_STEP}, "funnel_step"),
            ("lifecycle", {"target_date": "x", "lifecycle_type": "new"}, "target_date"),
            ("stickiness", {"stickiness_days": "x"}, "stickiness_days"),
            ("path", {"limit": 0}, "limit"),
        ):
            r = c.get(f"{base}/{path}/", params=params)
            assert r.status_code == 400 and r.json()["attr"] == attr, (path, r.text)
