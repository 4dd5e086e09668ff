"""`?format=csv` (or `Accept: text/csv`) on every REST endpoint, as spec/README.md lays it out:
lists one row per item, other bodies PostHog's dotted-key flattening; `format=json` is the
default; an unknown format is a 404 found before anything is written."""

import csv
import io

import pytest

from tests.test_funnels_oracle import ingest
from tests.test_insights_api import client, create

RANGE = {"date_from": "2021-05-01", "date_to": "2021-05-03"}
STEPS = '[{"id": "$pageview", "order": 0}, {"id": "signed_up", "order": 1}]'


@pytest.fixture(scope="module")
def world(spyglass):
    """Two people who view two pages and sign up; a dashboard holding an insight."""
    tenant = spyglass.new_project()
    ingest(spyglass, tenant, [
        (who, f"2021-05-01T12:0{i}:00+00:00", event, {"$current_url": url})
        for who in ("a", "b")
        for i, (event, url) in enumerate([("$pageview", "/home"), ("$pageview", "/pricing"),
                                          ("signed_up", "/pricing")])])  # fmt: skip
    with client(spyglass, tenant) as c:
        board = c.post(f"/api/projects/{tenant['id']}/dashboards/", json={"name": "KPIs"}).json()
        insight = create(c, tenant["id"], name="Views", dashboards=[board["id"]])
    return tenant, {"insight": insight["id"], "dashboard": board["id"]}


def rows_of(response) -> list[dict]:
    assert response.status_code in (200, 201), response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


# (method, path, query, a column and its value in the first row; None: any value)
CASES = [
    ("GET", "/api/projects/{p}/", {}, "timezone", "UTC"),
    ("GET", "/api/projects/{p}/insights/{insight}/", {}, "name", "Views"),
    ("GET", "/api/projects/{p}/insights/{insight}/activity/", {}, "activity", "created"),
    ("GET", "/api/projects/{p}/insights/activity/", {}, "scope", "Insight"),
    ("GET", "/api/projects/{p}/dashboards/", {}, "name", "KPIs"),
    ("GET", "/api/projects/{p}/dashboards/{dashboard}/", {}, "tiles.0.insight.name", "Views"),
    ("GET", "/api/projects/{p}/insights/funnel/", {**RANGE, "events": STEPS},
     "result.1.count", "2"),
    ("POST", "/api/projects/{p}/insights/funnel/", {**RANGE, "events": STEPS},
     "result.0.count", "2"),
    ("GET", "/api/projects/{p}/insights/retention/",
     {"date_to": "2021-05-03", "total_intervals": "3"}, "result.0.values.0.count", "2"),
    ("GET", "/api/projects/{p}/insights/path/", RANGE, "result.0.source", "1_/home"),
    ("POST", "/api/projects/{p}/insights/path/", RANGE, "result.0.value", "2"),
    ("GET", "/api/projects/{p}/insights/trend/",
     {**RANGE, "events": '[{"id": "signed_up"}]'}, "series", "signed_up"),
]  # fmt: skip


@pytest.mark.parametrize("how", ["format", "accept"])
@pytest.mark.parametrize(("method", "path", "query", "column", "value"), CASES)
def test_every_endpoint_answers_csv(spyglass, world, how, method, path, query, column, value):
    tenant, ids = world
    url = path.format(p=tenant["id"], **ids)
    with client(spyglass, tenant) as c:
        if how == "format":
            query = {**query, "format": "csv"}
        headers = {"Accept": "text/csv"} if how == "accept" else {}
        if method == "POST":
            r = c.post(url, params={"format": "csv"} if how == "format" else {}, json=query,
                       headers=headers)  # fmt: skip
        else:
            r = c.get(url, params=query, headers=headers)
        plain = c.get(url, params={k: v for k, v in query.items() if k != "format"})
        assert plain.headers["content-type"].startswith("application/json")  # the default
    first = rows_of(r)[0]
    assert first[column] == value, (column, sorted(first))


def test_csv_writes_answer_csv_and_an_unknown_format_writes_nothing(spyglass, world):
    tenant, ids = world
    with client(spyglass, tenant) as c:
        insights = f"/api/projects/{tenant['id']}/insights/"
        made = rows_of(c.post(insights, params={"format": "csv"}, json={"name": "As CSV"}))
        assert made[0]["name"] == "As CSV"
        url = f"{insights}{made[0]['id']}/"
        assert rows_of(c.patch(url, params={"format": "csv"}, json={"name": "B"}))[0]["name"] == "B"
        for path in (url, f"/api/projects/{tenant['id']}/",
                     f"/api/projects/{tenant['id']}/dashboards/{ids['dashboard']}/"):  # fmt: skip
            refused = c.patch(path, params={"format": "xml"},
                              json={"name": "Never", "timezone": "Europe/Paris"})  # fmt: skip
            assert refused.status_code == 404 and "xml" in refused.json()["detail"], path
        assert c.get(url).json()["name"] == "B"
        assert c.get(f"/api/projects/{tenant['id']}/").json()["timezone"] == "UTC"
        board = c.get(f"/api/projects/{tenant['id']}/dashboards/{ids['dashboard']}/").json()
        assert board["name"] == "KPIs"
