"""Cohorts over PostHog's REST paths: static uploads, dynamic definitions, their people, and
cohorts used as filters."""

import httpx
import pytest

from tests.test_insights_api import client


def send(spyglass, tenant, *events):
    r = httpx.post(f"{spyglass.url}/batch/", json={"api_key": tenant["token"],
                                                   "batch": list(events)})  # fmt: skip
    assert r.status_code == 200


def test_static_cohort_from_a_csv_upload_and_its_people(spyglass, tenant):
    send(
        spyglass,
        tenant,
        {"event": "x", "distinct_id": "a"},
        {"event": "x", "distinct_id": "b"},
        {"event": "$identify", "distinct_id": "b-user", "properties": {"$anon_distinct_id": "b"}},
    )
    with client(spyglass, tenant) as c:
        base = f"/api/projects/{tenant['id']}/cohorts/"
        r = c.post(
            base,
            data={"name": "Uploaded", "is_static": "true"},
            files={"csv": ("people.csv", b"distinct_id\na\nb-user\n", "text/csv")},
        )
        assert r.status_code == 201, r.text
        cohort = r.json()
        assert cohort["is_static"] is True and cohort["count"] == 2
        people = c.get(f"{base}{cohort['id']}/persons/").json()
        assert people["count"] == 2
        assert sorted(sorted(p["distinct_ids"]) for p in people["results"]) == [
            ["a"], ["b", "b-user"]]  # fmt: skip


def test_dynamic_cohort_crud_and_validation(spyglass, tenant):
    send(
        spyglass,
        tenant,
        {"event": "bought", "distinct_id": "buyer"},
        {"event": "looked", "distinct_id": "looker"},
    )
    definition = {"properties": {"type": "AND", "values": [
        {"type": "behavioral", "value": "performed_event", "key": "bought",
         "event_type": "events", "time_value": 30, "time_interval": "day"}]}}  # fmt: skip
    with client(spyglass, tenant) as c:
        base = f"/api/projects/{tenant['id']}/cohorts/"
        made = c.post(base, json={"name": "Buyers", "filters": definition})
        assert made.status_code == 201, made.text
        url = f"{base}{made.json()['id']}/"
        people = c.get(url + "persons/").json()
        assert [p["distinct_ids"] for p in people["results"]] == [["buyer"]]
        assert c.patch(url, json={"name": "Recent buyers"}).json()["name"] == "Recent buyers"
        assert c.delete(url).status_code == 405
        bad = c.post(
            base,
            json={
                "name": "Bad",
                "filters": {
                    "properties": {
                        "type": "AND",
                        "values": [
                            {
                                "type": "behavioral",
                                "value": "performed_event",
                                "key": "x",
                                "time_value": 1,
                                "time_interval": "fortnight",
                            }
                        ],
                    }
                },
            },
        )
        assert bad.status_code == 400 and bad.json()["attr"] == "time_interval"
        assert c.get(base).json()["count"] == 1  # the bad one was never written


def test_cohort_filters_reference_this_projects_cohorts_only(spyglass, tenant):
    other = spyglass.new_project()
    with client(spyglass, other) as c:
        theirs = c.post(f"/api/projects/{other['id']}/cohorts/",
                        json={"name": "Theirs", "is_static": True}).json()  # fmt: skip
    with client(spyglass, tenant) as c:
        r = c.get(f"/api/projects/{tenant['id']}/cohorts/{theirs['id']}/")
        assert r.status_code == 404
        nested = c.post(f"/api/projects/{tenant['id']}/cohorts/", json={
            "name": "Uses theirs", "filters": {"properties": {"type": "AND", "values": [
                {"type": "cohort", "key": "id", "value": theirs["id"]}]}}})  # fmt: skip
        assert nested.status_code == 400 and "unknown cohort" in nested.json()["detail"]


@pytest.mark.parametrize("scopes", [["insight:read"], ["cohort:read"]])
def test_cohort_scopes(spyglass, scopes):
    tenant = spyglass.new_project(scopes=scopes)
    r = httpx.post(f"{spyglass.url}/api/projects/{tenant['id']}/cohorts/", json={"name": "x"},
                   headers={"Authorization": f"Bearer {tenant['key']}"})  # fmt: skip
    assert r.status_code == 403 and "cohort:write" in r.json()["detail"]
