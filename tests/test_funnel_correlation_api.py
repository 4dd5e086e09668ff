"""Funnel correlation over REST and GraphQL: the computed envelope, its cache (apart from the
funnel's), CSV, the 400s, scopes, and the people behind a row reached through its URL."""

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.test_funnel_correlation import TWO, journey
from tests.test_funnels_oracle import ingest
from tests.test_insights_api import client


@pytest.fixture
def converting(spyglass, tenant):
    """Three converters (two saw `docs`), two failures (both saw `help`)."""
    ingest(spyglass, tenant, [
        *journey("s1", ["docs"], True), *journey("s2", ["docs", "help"], True),
        *journey("s3", [], True), *journey("f1", ["help"], False),
        *journey("f2", ["help"], False),
    ])  # fmt: skip
    return tenant


def query_string(filters: dict) -> dict:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in filters.items()}


def correlation_path(tenant) -> str:
    return f"/api/projects/{tenant['id']}/insights/funnel/correlation/"


def test_get_and_post_answer_the_envelope_and_cache_apart_from_the_funnel(spyglass, converting):
    with client(spyglass, converting) as c:
        got = c.get(correlation_path(converting), params=query_string(TWO))
        assert got.status_code == 200, got.text
        body = got.json()
        assert {"result", "last_refresh", "is_cached", "timezone", "next"} <= set(body)
        assert body["is_cached"] is False and body["result"]["skewed"] is False
        assert [r["event"]["event"] for r in body["result"]["events"]] == ["docs", "help"]
        posted = c.post(correlation_path(converting), json=TWO).json()
        assert posted["is_cached"] is True and posted["result"] == body["result"]
        # the same filter on the funnel path is the funnel, not the cached correlation
        funnel = c.post(f"/api/projects/{converting['id']}/insights/funnel/", json=TWO).json()
        assert [s["count"] for s in funnel["result"]] == [5, 3]
        fresh = c.post(correlation_path(converting), json=TWO, params={"refresh": "true"})
        assert fresh.json()["is_cached"] is False


def test_bad_input_is_a_400_naming_the_field(spyglass, converting):
    with client(spyglass, converting) as c:
        r = c.post(correlation_path(converting),
                   json={**TWO, "funnel_correlation_type": "properties"})  # fmt: skip
        assert r.status_code == 400
        assert r.json() == {
            "type": "validation_error", "code": "invalid_input",
            "detail": "Property Correlation expects atleast one Property to run correlation on",
            "attr": "funnel_correlation_names",
        }  # fmt: skip
        r = c.get(
            correlation_path(converting),
            params={**query_string(TWO), "funnel_correlation_event_names": "[oops"},
        )
        assert r.status_code == 400 and r.json()["attr"] == "funnel_correlation_event_names"


def test_csv_flattens_the_rows(spyglass, converting):
    with client(spyglass, converting) as c:
        r = c.post(correlation_path(converting), json=TWO, params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    header, row = r.text.splitlines()[:2]
    assert "result.events.0.event.event" in header and "result.events.1.odds_ratio" in header
    assert "docs" in row and "help" in row


def test_people_urls_list_the_actors_behind_each_count(spyglass, converting):
    with client(spyglass, converting) as c:
        rows = c.post(correlation_path(converting), json=TWO).json()["result"]["events"]
        docs, helped = rows
        for row, side, count in ((docs, "success", 2), (helped, "failure", 2),
                                 (helped, "success", 1), (docs, "failure", 0)):  # fmt: skip
            url = row[f"{side}_people_url"]
            assert url.startswith(f"api/projects/{converting['id']}/persons/funnel/correlation/")
            page = c.get("/" + url)
            assert page.status_code == 200, page.text
            (result,) = page.json()["results"]
            assert result["count"] == count == row[f"{side}_count"]
            ids = sorted(d for p in result["people"] for d in p["distinct_ids"])
            want = {("success", "docs"): ["s1", "s2"], ("failure", "help"): ["f1", "f2"],
                    ("success", "help"): ["s2"], ("failure", "docs"): []}  # fmt: skip
            assert ids == want[(side, row["event"]["event"])]
        # paging: one a page, with a next URL until the end
        query = parse_qs(urlsplit(docs["success_people_url"]).query)
        params = {k: v[0] for k, v in query.items()} | {"funnel_correlation_person_limit": "1"}
        first = c.get(f"/api/projects/{converting['id']}/persons/funnel/correlation/",
                      params=params).json()  # fmt: skip
        assert first["results"][0]["count"] == 1 and first["next"]
        second = c.get(first["next"]).json()
        assert second["results"][0]["count"] == 1 and second["next"] is None
        assert first["results"][0]["people"] != second["results"][0]["people"]
        refused = c.get(f"/api/projects/{converting['id']}/persons/funnel/correlation/",
                        params={k: v for k, v in params.items()
                                if k != "funnel_correlation_person_converted"})  # fmt: skip
        assert refused.status_code == 400
        assert refused.json()["attr"] == "funnel_correlation_person_converted"


def test_scopes_and_anonymous_callers(spyglass, converting):
    reader = spyglass.new_project(scopes=["dashboard:read"])
    with client(spyglass, reader) as c:
        assert c.post(f"/api/projects/{reader['id']}/insights/funnel/correlation/",
                      json=TWO).status_code == 403  # fmt: skip
    r = httpx.post(spyglass.url + correlation_path(converting), json=TWO)
    assert r.status_code == 401


def test_graphql_field(spyglass, converting):
    query = """query ($p: String!, $f: JSON!) {
      funnelCorrelation(projectId: $p, filters: $f) { result isCached } }"""
    r = httpx.post(f"{spyglass.url}/graphql", json={"query": query, "variables": {
        "p": str(converting["id"]), "f": TWO}},
        headers={"Authorization": f"Bearer {converting['key']}"})  # fmt: skip
    result = r.json()["data"]["funnelCorrelation"]["result"]
    assert [row["success_count"] for row in result["events"]] == [2, 1]
