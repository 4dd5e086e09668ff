"""`refresh` as PostHog reads it (legacy true / "" / JSON true, and the named modes) and how long
a cached result stays fresh: a window set by the interval, cut short when the range's last
bucket changes or a backfill of past data arrives, never by new events — the request's "now"
set by the dev clock."""

import json

import httpx
import pytest

from tests.test_funnels_oracle import ingest
from tests.test_insights_api import client, create

EVENTS = json.dumps([{"id": "$pageview"}])


def at(moment: str) -> dict:
    return {"X-Spyglass-Now": moment}


@pytest.fixture
def viewed(spyglass, tenant):
    """Three pageviews on 2026-01-05, the morning of the moments the tests ask at."""
    ingest(spyglass, tenant, [(who, "2026-01-05T09:00:00+00:00", "$pageview", None)
                              for who in ("a", "b", "c")])  # fmt: skip
    return tenant


def trend(c, tenant, moment: str, method: str = "GET", **params) -> dict:
    path = f"/api/projects/{tenant['id']}/insights/trend/"
    query = {"events": EVENTS, "date_from": "-7d", **params}
    if method == "POST":
        r = c.post(path, json={**query, "events": json.loads(EVENTS)}, headers=at(moment))
    else:
        r = c.get(path, params=query, headers=at(moment))
    assert r.status_code == 200, r.text
    body = r.json()
    total = sum(body["result"][0]["data"]) if body["result"] else None
    return {"cached": body["is_cached"], "total": total, "refreshed": body["last_refresh"]}


def test_refresh_values_as_posthog_reads_them(spyglass, viewed):
    now = "2026-01-05T10:00:00+00:00"
    with client(spyglass, viewed) as c:
        assert trend(c, viewed, now, refresh="force_cache")["total"] is None  # never computes
        assert trend(c, viewed, now, refresh="blocking") == {
            "cached": False, "total": 3, "refreshed": now}  # fmt: skip
        for cached in (None, "blocking", "force_cache", "false", "async", "lazy_async"):
            params = {} if cached is None else {"refresh": cached}
            assert trend(c, viewed, now, **params)["cached"] is True, cached
        for forced in ("true", "", "TRUE", "force_blocking", "force_async"):
            assert trend(c, viewed, now, refresh=forced)["cached"] is False, forced
        assert trend(c, viewed, now, "POST", refresh=True)["cached"] is False  # JSON true
        assert trend(c, viewed, now, "POST", refresh=False)["cached"] is True


def test_a_saved_insight_reads_the_cache_unless_refresh_says_otherwise(spyglass, viewed):
    now = "2026-01-05T10:00:00+00:00"
    with client(spyglass, viewed) as c:
        made = create(c, viewed["id"], name="Steps", filters={
            "insight": "FUNNELS", "events": [{"id": "$pageview", "order": 0},
                                             {"id": "$pageview", "order": 1}],
            "date_from": "-7d"})  # fmt: skip
        url = f"/api/projects/{viewed['id']}/insights/{made['id']}/"

        def read(**params) -> dict:
            return c.get(url, params=params, headers=at(now)).json()

        assert read()["result"] is None and read()["last_refresh"] is None  # force_cache
        computed = read(refresh="blocking")
        # `insight: FUNNELS` picked the engine: steps, not a trend series
        assert [s["count"] for s in computed["result"]] == [3, 0]
        assert computed["is_cached"] is False and computed["last_refresh"] == now
        assert read()["is_cached"] is True and read()["result"] == computed["result"]
        by_short_id = c.post("/graphql", json={"query": """query ($p: String!, $s: String!) {
            insight(projectId: $p, shortId: $s) { id isCached result } }""",
            "variables": {"p": str(viewed["id"]), "s": made["short_id"]}}).json()  # fmt: skip
        found = by_short_id["data"]["insight"]
        assert (found["id"], found["isCached"]) == (made["id"], True)
        assert [s["count"] for s in found["result"]] == [3, 0]


def test_fresh_for_the_intervals_window_and_new_events_do_not_evict(spyglass, viewed):
    with client(spyglass, viewed) as c:
        first = trend(c, viewed, "2026-01-05T10:00:00+00:00")
        assert first["cached"] is False and first["total"] == 3
        ingest(spyglass, viewed, [("d", "2026-01-05T10:01:00+00:00", "$pageview", None)])
        later = trend(c, viewed, "2026-01-05T10:25:00+00:00")  # daily: 30 minutes
        assert later == {**first, "cached": True}  # the new event waits for the window
        stale = trend(c, viewed, "2026-01-05T10:31:00+00:00")
        assert stale["cached"] is False and stale["total"] == 4
        # hourly insights: 10 minutes
        assert trend(c, viewed, "2026-01-05T10:31:00+00:00", interval="hour")["cached"] is False
        assert trend(c, viewed, "2026-01-05T10:40:00+00:00", interval="hour")["cached"] is True
        assert trend(c, viewed, "2026-01-05T10:42:00+00:00", interval="hour")["cached"] is False


def test_a_new_bucket_at_the_range_end_makes_it_stale_unless_the_end_is_fixed(spyglass, viewed):
    with client(spyglass, viewed) as c:
        assert trend(c, viewed, "2026-01-05T23:50:00+00:00")["cached"] is False
        # ten minutes on, inside the window, but the range now ends in a new day
        assert trend(c, viewed, "2026-01-06T00:00:30+00:00")["cached"] is False
        fixed = {"date_to": "2026-01-05"}
        assert trend(c, viewed, "2026-01-05T23:50:00+00:00", **fixed)["cached"] is False
        assert trend(c, viewed, "2026-01-06T00:00:30+00:00", **fixed)["cached"] is True


def test_the_project_timezone_says_when_the_day_turns(spyglass):
    """Tokyo's day turns at 15:00 UTC: a daily result computed before then is stale after."""
    tenant = spyglass.new_project(timezone="Asia/Tokyo")
    with client(spyglass, tenant) as c:
        assert trend(c, tenant, "2026-01-05T14:50:00+00:00")["cached"] is False
        assert trend(c, tenant, "2026-01-05T15:05:00+00:00")["cached"] is False
        assert trend(c, tenant, "2026-01-05T15:10:00+00:00")["cached"] is True


def test_an_sdks_historical_migration_evicts_the_projects_results(spyglass, viewed):
    """posthog-python marks backfills `historical_migration`: past data changed, so cached
    results of the project are stale at once; ordinary batches (the flag false) are not."""
    now = "2026-01-05T10:00:00+00:00"

    def send(historical: bool) -> None:
        body = {"api_key": viewed["token"], "historical_migration": historical, "batch": [
            {"event": "$pageview", "distinct_id": f"past-{historical}",
             "timestamp": "2026-01-03T08:00:00+00:00"}]}  # fmt: skip
        assert httpx.post(f"{spyglass.url}/batch/", json=body).status_code == 200

    with client(spyglass, viewed) as c:
        assert trend(c, viewed, now)["total"] == 3
        send(historical=False)
        assert trend(c, viewed, now) == {"cached": True, "total": 3, "refreshed": now}
        send(historical=True)
        assert trend(c, viewed, now) == {"cached": False, "total": 5, "refreshed": now}


def test_a_refresh_posthog_does_not_read_is_a_400_even_with_nothing_to_compute(spyglass, tenant):
    with client(spyglass, tenant) as c:
        empty = create(c, tenant["id"], name="Nothing to compute")
        board = c.post(f"/api/projects/{tenant['id']}/dashboards/", json={"name": "B"}).json()
        for path in (f"insights/{empty['id']}/", f"dashboards/{board['id']}/"):
            r = c.get(f"/api/projects/{tenant['id']}/{path}", params={"refresh": "sometimes"})
            assert r.status_code == 400 and r.json()["attr"] == "refresh", (path, r.text)
            assert c.get(f"/api/projects/{tenant['id']}/{path}",
                         params={"refresh": "force_blocking"}).status_code == 200  # fmt: skip
