"""Ids past 2^31 (GraphQL's Int) work everywhere: REST keeps them JSON numbers, GraphQL carries
them as BigInt, and past 2^53 - 1 (beyond JavaScript's exact integers) they name nothing."""

import pytest

from resolvers.insights import short_id_for
from tests.test_insights_api import client, create

BIG = 2**33 + 7  # past 2^31, below the 2^47 that short ids encode
NESTED = """query ($p: String!, $id: BigInt!, $insight: BigInt!) {
  dashboard(projectId: $p, id: $id) { id tiles { insight { id dashboards } } }
  insight(projectId: $p, id: $insight) { id createdBy { id } }
  insights(projectId: $p, dashboards: [$id]) { count results { id } }
}"""


@pytest.fixture
def big_ids(spyglass):
    """The id counters moved past BIG (as after an import keeping another system's ids)."""
    metadata = spyglass.services.metadata
    for entity in ("insight", "dashboard"):
        spyglass.run(metadata.continue_ids_after(entity, BIG))


def test_ids_past_graphql_int_round_trip_over_rest_and_graphql(spyglass, tenant, big_ids):
    p = tenant["id"]
    with client(spyglass, tenant) as c:
        board = c.post(f"/api/projects/{p}/dashboards/", json={"name": "Big"}).json()
        made = create(c, p, name="Big one", dashboards=[board["id"]])
        assert made["id"] > BIG and board["id"] > BIG
        assert type(made["id"]) is int and made["dashboards"] == [board["id"]]
        url = f"/api/projects/{p}/insights/{made['id']}/"
        assert c.get(url).json()["id"] == made["id"]
        assert c.patch(url, json={"name": "Renamed"}).json()["name"] == "Renamed"
        assert c.post(url + "viewed/").status_code == 201
        got = c.get(url, params={"from_dashboard": board["id"]}).json()
        assert got["layouts"] is not None
        listed = c.get(f"/api/projects/{p}/insights/",
                       params={"dashboards": f"[{board['id']}]"}).json()  # fmt: skip
        assert [i["id"] for i in listed["results"]] == [made["id"]]
        variables = {"p": str(p), "id": board["id"], "insight": made["id"]}
        data = c.post("/graphql", json={"query": NESTED, "variables": variables}).json()
    assert "errors" not in data, data
    assert data["data"]["dashboard"] == {
        "id": board["id"], "tiles": [{"insight": {"id": made["id"],
                                                  "dashboards": [board["id"]]}}]}  # fmt: skip
    assert data["data"]["insight"]["id"] == made["id"]
    assert data["data"]["insights"] == {"count": 1, "results": [{"id": made["id"]}]}


def test_ids_beyond_javascripts_exact_range_are_refused(spyglass, tenant):
    p = tenant["id"]
    with client(spyglass, tenant) as c:
        assert c.get(f"/api/projects/{p}/insights/{2**53}/").status_code == 404
        r = c.post("/graphql", json={
            "query": "query ($p: String!, $id: BigInt!) { insight(projectId: $p, id: $id) { id } }",
            "variables": {"p": str(p), "id": 2**53}})  # fmt: skip
        assert "2^53" in r.json()["errors"][0]["message"]
        r = c.post("/graphql", json={
            "query": "query ($p: String!) { insight(projectId: $p, id: 1.5) { id } }",
            "variables": {"p": str(p)}})  # fmt: skip
        assert r.json()["errors"]
        r = c.get(f"/api/projects/{p}/insights/", params={"created_by": str(2**60)})
        assert r.status_code == 400 and r.json()["attr"] == "created_by"
        r = c.get(f"/api/projects/{p}/insights/1/", params={"from_dashboard": str(2**60)})
        assert r.status_code == 400 and r.json()["attr"] == "from_dashboard"


def test_short_ids_are_unique_by_construction():
    """A short id is a bijective scramble of the id: distinct ids never share one, at the start
    of the range, around 2^31 and at its top; always 8 characters of [0-9A-Za-z]."""
    ranges = (range(1, 200_001), range(2**31 - 50_000, 2**31 + 50_000),
              range(2**47 - 50_000, 2**47))  # fmt: skip
    ids = [i for r in ranges for i in r]
    shorts = [short_id_for(i) for i in ids]
    assert len(set(shorts)) == len(ids)
    assert all(len(s) == 8 and s.isalnum() and s.isascii() for s in shorts)
    with pytest.raises(OverflowError):
        short_id_for(2**47)
