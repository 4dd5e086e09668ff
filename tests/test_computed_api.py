"""Computed insights over PostHog's REST paths: the envelope, the cache (hit, refresh,
single-flight, invalidation by import) and saved insights reporting their results."""

import concurrent.futures
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.test_insights_api import client


@pytest.fixture
def with_events(spyglass, tenant):
    now = datetime.now(UTC)
    batch = [{"event": "$pageview", "distinct_id": f"u{i % 3}",
              "timestamp": (now - timedelta(days=i % 4, minutes=i)).isoformat(),
              "properties": {"$current_url": f"https://x.io/{i % 2}", "$pathname": f"/{i % 2}"}}
             for i in range(12)]  # fmt: skip
    r = httpx.post(f"{spyglass.url}/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200
    return tenant


def trend(c, project, **params):
    query = {"events": json.dumps([{"id": "$pageview", "math": "total"}]), "date_from": "-7d",
             **params}  # fmt: skip
    return c.get(f"/api/projects/{project}/insights/trend/", params=query)


def test_trend_envelope_then_cache_hit_then_refresh(spyglass, with_events):
    tenant = with_events
    with client(spyglass, tenant) as c:
        first = trend(c, tenant["id"])
        assert first.status_code == 200, first.text
        body = first.json()
        assert {"result", "last_refresh", "is_cached", "timezone", "next"} <= set(body)
        (series,) = body["result"]
        assert series["count"] == 12 and len(series["data"]) == 8 and body["is_cached"] is False
        again = trend(c, tenant["id"]).json()
        assert again["is_cached"] is True and again["result"] == body["result"]
        assert again["last_refresh"] == body["last_refresh"]
        # Same filter, keys in another order and defaults spelled out: the same cache entry.
        same = trend(c, tenant["id"], interval="day", display="ActionsLineGraph").json()
        assert same["is_cached"] is True
        fresh = trend(c, tenant["id"], refresh="true").json()
        assert fresh["is_cached"] is False and fresh["result"] == body["result"]
        posted = c.post(f"/api/projects/{tenant['id']}/insights/trend/",
                        json={"events": [{"id": "$pageview"}], "date_from": "-7d"})  # fmt: skip
        assert posted.status_code == 200 and posted.json()["result"][0]["count"] == 12


def test_identical_concurrent_requests_compute_once(spyglass, with_events):
    tenant = with_events
    before = spyglass.services.cache.computations
    with client(spyglass, tenant) as c, concurrent.futures.ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: trend(c, tenant["id"], date_from="-3d").json(),
                               range(8)))  # fmt: skip
    assert spyglass.services.cache.computations - before == 1
    assert len({json.dumps(b["result"]) for b in bodies}) == 1


def test_trend_csv_is_one_row_per_series(spyglass, with_events):
    tenant = with_events
    with client(spyglass, tenant) as c:
        r = trend(c, tenant["id"], format="csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment;" in r.headers["content-disposition"]
    header, row = r.text.strip().splitlines()[:2]
    assert header.startswith("series,") and len(header.split(",")) == 9
    assert sum(int(float(x)) for x in row.split(",")[1:]) == 12


def test_retention_and_paths_answer(spyglass, with_events):
    tenant = with_events
    with client(spyglass, tenant) as c:
        retention = c.get(f"/api/projects/{tenant['id']}/insights/retention/",
                          params={"total_intervals": 4})  # fmt: skip
        assert retention.status_code == 200, retention.text
        assert len(retention.json()["result"]) == 4
        paths = c.post(
            f"/api/projects/{tenant['id']}/insights/path/",
            json={"include_event_types": ["$pageview"], "date_from": "-7d"},
        )
        assert paths.status_code == 200, paths.text
        assert all({"source", "target", "value"} <= set(e) for e in paths.json()["result"])


def test_bad_input_is_a_400_naming_the_field(spyglass, with_events):
    tenant = with_events
    with client(spyglass, tenant) as c:
        r = trend(c, tenant["id"], interval="fortnight")
        assert r.status_code == 400 and r.json()["attr"] == "interval"
        r = c.get(f"/api/projects/{tenant['id']}/insights/trend/", params={"events": "[oops"})
        assert r.status_code == 400 and r.json()["attr"] == "events"
        r = trend(c, tenant["id"], refresh="sometimes")
        assert r.status_code == 400 and r.json()["attr"] == "refresh"


def test_saved_insight_reports_its_result_after_refresh(spyglass, with_events):
    tenant = with_events
    with client(spyglass, tenant) as c:
        made = c.post(
            f"/api/projects/{tenant['id']}/insights/",
            json={
                "name": "Views",
                "filters": {"events": [{"id": "$pageview"}], "date_from": "-7d"},
            },
        )
        url = f"/api/projects/{tenant['id']}/insights/{made.json()['id']}/"
        cold = c.get(url).json()
        computed = c.get(url, params={"refresh": "true"}).json()
        warm = c.get(url).json()
    assert cold["result"] is None and cold["last_refresh"] is None
    assert computed["result"][0]["count"] == 12 and computed["is_cached"] is False
    assert warm["is_cached"] is True and warm["result"] == computed["result"]


def test_an_import_of_past_data_makes_cached_results_stale(spyglass, with_events, tmp_path):
    from gateway.admin import run as admin_run

    tenant = with_events
    with client(spyglass, tenant) as c:
        assert trend(c, tenant["id"]).json()["result"][0]["count"] == 12
        past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        path = tmp_path / "past.jsonl"
        path.write_text(json.dumps({"event": "$pageview", "distinct_id": "late",
                                    "timestamp": past}) + "\n")  # fmt: skip
        spyglass.run(admin_run(spyglass.services, ["import", str(path), "--project",
                                                   str(tenant["id"])]))  # fmt: skip
        after = trend(c, tenant["id"]).json()
    assert after["is_cached"] is False and after["result"][0]["count"] == 13


def test_funnel_over_rest_and_a_cohort_filter(spyglass, tenant):
    now = datetime.now(UTC)
    batch = [{"event": e, "distinct_id": who, "timestamp": (now - timedelta(hours=h)).isoformat()}
             for who, steps in (("a", ["view", "signup", "pay"]), ("b", ["view", "signup"]),
                                ("c", ["view"]))
             for h, e in zip((30, 20, 10), steps, strict=False)]  # fmt: skip
    httpx.post(f"{spyglass.url}/batch/", json={"api_key": tenant["token"], "batch": batch})
    steps = [
        {"id": e, "type": "events", "order": i} for i, e in enumerate(["view", "signup", "pay"])
    ]
    with client(spyglass, tenant) as c:
        r = c.post(
            f"/api/projects/{tenant['id']}/insights/funnel/",
            json={"events": steps, "date_from": "-7d"},
        )
        assert r.status_code == 200, r.text
        assert [s["count"] for s in r.json()["result"]] == [3, 2, 1]
        cohort = c.post(
            f"/api/projects/{tenant['id']}/cohorts/",
            json={
                "name": "signed up",
                "filters": {
                    "properties": {
                        "type": "AND",
                        "values": [
                            {
                                "type": "behavioral",
                                "value": "performed_event",
                                "key": "signup",
                                "event_type": "events",
                                "time_value": 7,
                                "time_interval": "day",
                            }
                        ],
                    }
                },
            },
        ).json()
        r = c.post(
            f"/api/projects/{tenant['id']}/insights/funnel/",
            json={
                "events": steps,
                "date_from": "-7d",
                "properties": [{"type": "cohort", "key": "id", "value": cohort["id"]}],
            },
        )
        assert r.status_code == 200, r.text
        assert [s["count"] for s in r.json()["result"]] == [2, 2, 1]


def test_trend_breakdown_pages_follow_next(spyglass, tenant):
    """Three browsers, two to a page: `next` moves `offset` on by the limit while a page is
    full; the last page has none. Without a breakdown there is nothing to page."""
    from tests.test_funnels_oracle import ingest

    ingest(spyglass, tenant, [(f"u{i}", "2021-05-01T12:00:00+00:00", "$pageview",
                               {"$browser": browser})
                              for i, browser in enumerate(["Chrome"] * 3 + ["Safari"] * 2
                                                          + ["Firefox"])])  # fmt: skip
    query = {"events": json.dumps([{"id": "$pageview"}]), "date_from": "2021-05-01",
             "date_to": "2021-05-01", "breakdown": "$browser", "breakdown_limit": "2"}  # fmt: skip
    with client(spyglass, tenant) as c:
        first = c.get(f"/api/projects/{tenant['id']}/insights/trend/", params=query).json()
        assert first["next"] is not None and "offset=2" in first["next"]
        assert first["next"].startswith(spyglass.url)
        second = httpx.get(first["next"], headers=c.headers).json()
        plain = {k: v for k, v in query.items() if k not in ("breakdown", "breakdown_limit")}
        unbroken = c.get(f"/api/projects/{tenant['id']}/insights/trend/", params=plain).json()
    shown = [s["breakdown_value"] for s in first["result"]]
    assert shown[:2] == ["Chrome", "Safari"]
    assert [s["breakdown_value"] for s in second["result"]] == ["Firefox"]
    assert second["next"] is None and unbroken["next"] is None
