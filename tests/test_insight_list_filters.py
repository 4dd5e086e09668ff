"""PostHog's insight list filters over REST and GraphQL: each filter, ordering, `basic`,
`my_last_viewed`, and a 400 naming the parameter for each bad value."""

import httpx
import pytest

from tests.test_insights_api import client, create


def at(moment: str) -> dict:
    """The dev clock's per-request "now" (the harness serves with --dev-clock)."""
    return {"X-Spyglass-Now": moment}


def listed(c, project, **params) -> list:
    r = c.get(f"/api/projects/{project}/insights/", params=params)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def names(c, project, **params) -> list[str]:
    return [i["name"] for i in listed(c, project, **params)]


def test_filters_by_kind_favourite_saved_search_creator_and_dashboards(spyglass, tenant):
    p = tenant["id"]
    stranger = spyglass.new_project()["user"]  # another organisation's user
    with client(spyglass, tenant) as c:
        board = c.post(f"/api/projects/{p}/dashboards/", json={"name": "B"}).json()
        create(c, p, name="Trend", tags=["growth"])
        create(c, p, name="Funnel", filters={"insight": "FUNNELS"}, favorited=True)
        create(c, p, name="Saved", saved=True, description="weekly numbers")
        create(c, p, name="Boarded", dashboards=[board["id"]])
        assert sorted(names(c, p, insight="FUNNELS")) == ["Funnel"]
        assert sorted(names(c, p, insight="trends")) == ["Boarded", "Saved", "Trend"]
        assert names(c, p, favorited="true") == ["Funnel"]
        assert sorted(names(c, p, favorited="false")) == ["Boarded", "Saved", "Trend"]
        # PostHog: saved=true is "saved or on a dashboard"; saved=false is "not saved".
        assert sorted(names(c, p, saved="true")) == ["Boarded", "Saved"]
        assert sorted(names(c, p, saved="false")) == ["Boarded", "Funnel", "Trend"]
        assert names(c, p, search="GROWTH") == ["Trend"]  # tags match, any case
        assert names(c, p, search="weekly") == ["Saved"]  # and descriptions
        assert names(c, p, dashboards=f"[{board['id']}]") == ["Boarded"]
        assert len(names(c, p, created_by=tenant["user"]["id"])) == 4
        assert names(c, p, created_by=stranger["id"]) == []
        assert len(names(c, p, user="true")) == 4


def test_date_from_and_date_to_bound_last_modified_relative_or_absolute(spyglass, tenant):
    p = tenant["id"]
    with client(spyglass, tenant) as c:
        old = c.post(f"/api/projects/{p}/insights/", json={"name": "Old"},
                     headers=at("2026-03-01T12:00:00+00:00")).json()  # fmt: skip
        c.post(f"/api/projects/{p}/insights/", json={"name": "New"},
               headers=at("2026-03-20T12:00:00+00:00"))  # fmt: skip
        now = at("2026-03-21T12:00:00+00:00")
        r = c.get(f"/api/projects/{p}/insights/", params={"date_from": "-7d"}, headers=now)
        assert [i["name"] for i in r.json()["results"]] == ["New"]
        r = c.get(f"/api/projects/{p}/insights/", params={"date_to": "-7d"}, headers=now)
        assert [i["name"] for i in r.json()["results"]] == ["Old"]
        assert names(c, p, date_from="2026-03-10") == ["New"]
        assert names(c, p, date_from="2026-02-01", date_to="2026-03-10") == ["Old"]
        # A material change moves last_modified_at, and with it the insight into the window.
        c.patch(f"/api/projects/{p}/insights/{old['id']}/", json={"name": "Old, renamed"},
                headers=at("2026-03-21T08:00:00+00:00"))  # fmt: skip
        r = c.get(f"/api/projects/{p}/insights/", params={"date_from": "-1d"}, headers=now)
        assert [i["name"] for i in r.json()["results"]] == ["Old, renamed"]


def colleague(spyglass, tenant) -> dict:
    """A second user of the tenant's organisation, with a key."""
    tenancy = spyglass.services.tenancy

    async def make():
        org = tenant["project"]["organization"]
        user = await tenancy.create_user(org, f"colleague{tenant['id']}@example.com")
        key, _ = await tenancy.create_key(user["id"], "test", [])
        return {**tenant, "user": user, "key": key}

    return spyglass.run(make())


def test_my_last_viewed_lists_my_views_most_recent_first(spyglass, tenant):
    p = tenant["id"]
    with client(spyglass, tenant) as c:
        a, b, never = (create(c, p, name=n) for n in ("A", "B", "Never viewed"))
        for insight, moment in ((a, "2026-04-01T10:00:00"), (b, "2026-04-02T10:00:00"),
                                (a, "2026-04-03T10:00:00")):  # fmt: skip
            r = c.post(f"/api/projects/{p}/insights/{insight['id']}/viewed/",
                       headers=at(moment + "+00:00"))  # fmt: skip
            assert r.status_code == 201
        assert names(c, p, my_last_viewed="true") == ["A", "B"]
        assert names(c, p, my_last_viewed="true", order="name") == ["A", "B"]
        assert names(c, p, order="-my_last_viewed_at") == ["A", "B", "Never viewed"]
        assert names(c, p, order="my_last_viewed_at") == ["B", "A", "Never viewed"]
    # A colleague's later view of B: theirs, not mine; it counts for `last_viewed_at`.
    with client(spyglass, colleague(spyglass, tenant)) as c:
        r = c.post(f"/api/projects/{p}/insights/{b['id']}/viewed/",
                   headers=at("2026-04-04T10:00:00+00:00"))  # fmt: skip
        assert r.status_code == 201
        assert names(c, p, my_last_viewed="true") == ["B"]
    with client(spyglass, tenant) as c:
        assert names(c, p, my_last_viewed="true") == ["A", "B"]
        assert names(c, p, order="-last_viewed_at") == ["B", "A", "Never viewed"]
        assert never["id"] not in [i["id"] for i in listed(c, p, my_last_viewed="1")]


def test_ordering_by_name_modified_and_created(spyglass, tenant):
    p = tenant["id"]
    with client(spyglass, tenant) as c:
        for name, moment in (("beta", "2026-05-02"), ("Alpha", "2026-05-03"),
                             ("gamma", "2026-05-01")):  # fmt: skip
            c.post(f"/api/projects/{p}/insights/", json={"name": name},
                   headers=at(moment + "T00:00:00+00:00"))  # fmt: skip
        assert names(c, p, order="name") == ["Alpha", "beta", "gamma"]
        assert names(c, p, order="-name") == ["gamma", "beta", "Alpha"]
        assert names(c, p, order="-last_modified_at") == ["Alpha", "beta", "gamma"]
        assert names(c, p, ordering="created_at") == ["gamma", "beta", "Alpha"]
        # The default is PostHog's `order` column, insights without one last (newest first).
        made = listed(c, p)
        c.patch(f"/api/projects/{p}/insights/{made[-1]['id']}/", json={"order": 1})
        assert names(c, p)[0] == made[-1]["name"]


def test_basic_lists_posthogs_basic_fields_without_a_result(spyglass, tenant):
    p = tenant["id"]
    with client(spyglass, tenant) as c:
        create(c, p, name="Basic", filters={"events": [{"id": "$pageview"}]})
        basic = listed(c, p, basic="true")[0]
        full = listed(c, p)[0]
        one = c.get(f"/api/projects/{p}/insights/{full['id']}/", params={"basic": "1"}).json()
    assert one == basic  # retrieve takes `basic` too
    assert set(basic) == {
        "id", "short_id", "name", "derived_name", "filters", "dashboards", "description",
        "last_refresh", "refreshing", "saved", "tags", "updated_at", "created_by", "created_at",
        "last_modified_at", "favorited",
    }  # fmt: skip
    assert "result" in full and "result" not in basic
    assert {k: full[k] for k in basic} == basic


def test_graphql_takes_the_same_filters(spyglass, tenant):
    p = tenant["id"]
    q = ("query($p: String!) { insights(projectId: $p, insight: \"funnels\", order: \"-name\", "
         "dateFrom: \"-30d\", basic: true) { count results { name result } } }")  # fmt: skip
    with client(spyglass, tenant) as c:
        for name in ("F1", "F2"):
            create(c, p, name=name, filters={"insight": "FUNNELS", "events": [{"id": "a"}]})
        create(c, p, name="T")
        data = c.post("/graphql", json={"query": q, "variables": {"p": str(p)}}).json()["data"]
    results = [{"name": "F2", "result": None}, {"name": "F1", "result": None}]
    assert data["insights"] == {"count": 2, "results": results}


@pytest.mark.parametrize(
    ("params", "attr"),
    [({"insight": "PIE"}, "insight"), ({"order": "password"}, "order"),
     ({"ordering": "-nope"}, "ordering"), ({"date_from": "last tuesday"}, "date_from"),
     ({"date_to": "2026-13-45"}, "date_to"), ({"my_last_viewed": "maybe"}, "my_last_viewed"),
     ({"basic": "sometimes"}, "basic"), ({"saved": "perhaps"}, "saved"),
     ({"favorited": "2"}, "favorited"), ({"created_by": "me"}, "created_by"),
     ({"dashboards": "1,2"}, "dashboards")],
)  # fmt: skip
def test_bad_filter_values_are_400_naming_the_parameter(spyglass, tenant, params, attr):
    r = httpx.get(f"{spyglass.url}/api/projects/{tenant['id']}/insights/", params=params,
                  headers={"Authorization": f"Bearer {tenant['key']}"})  # fmt: skip
    assert r.status_code == 400, r.text
    assert r.json()["attr"] == attr and r.json()["type"] == "validation_error"
