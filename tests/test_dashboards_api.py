"""Dashboards and tiles over REST, and nested dashboard → tiles → insight reads in GraphQL."""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import httpx

from tests.test_insights_api import client, create


def new_dashboard(c, project, **fields):
    fields.setdefault("name", "Growth")
    r = c.post(f"/api/projects/{project}/dashboards/", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


def test_dashboard_crud_and_soft_delete(spyglass, tenant):
    with client(spyglass, tenant) as c:
        board = new_dashboard(c, tenant["id"], description="KPIs", pinned=True, tags=["x"])
        assert board["tiles"] == [] and board["team_id"] == tenant["id"]
        url = f"/api/projects/{tenant['id']}/dashboards/{board['id']}/"
        assert c.patch(url, json={"name": "Renamed"}).json()["name"] == "Renamed"
        listed = c.get(f"/api/projects/{tenant['id']}/dashboards/").json()
        assert [d["name"] for d in listed["results"]] == ["Renamed"]
        assert c.delete(url).status_code == 405
        assert c.patch(url, json={"deleted": True}).status_code == 200
        assert c.get(url).status_code == 404
        assert c.patch(url, json={"deleted": False}).json()["deleted"] is False


def test_insight_on_dashboards_tiles_and_delete_removes_tiles(spyglass, tenant):
    with client(spyglass, tenant) as c:
        a, b = new_dashboard(c, tenant["id"], name="A"), new_dashboard(c, tenant["id"], name="B")
        insight = create(c, tenant["id"], dashboards=[a["id"]])
        assert insight["dashboards"] == [a["id"]]
        url = f"/api/projects/{tenant['id']}/insights/{insight['id']}/"
        moved = c.patch(url, json={"dashboards": [a["id"], b["id"]]}).json()
        assert moved["dashboards"] == [a["id"], b["id"]]
        board = c.get(f"/api/projects/{tenant['id']}/dashboards/{b['id']}/").json()
        (tile,) = board["tiles"]
        assert tile["insight"]["id"] == insight["id"] and tile["insight"]["name"] == "Pageviews"
        # Tile layout and colour, edited through the dashboard as PostHog does.
        layouts = {"sm": {"x": 0, "y": 0, "w": 6, "h": 5}}
        c.patch(
            f"/api/projects/{tenant['id']}/dashboards/{b['id']}/",
            json={"tiles": [{"id": tile["id"], "color": "blue", "layouts": layouts}]},
        )
        tile = c.get(f"/api/projects/{tenant['id']}/dashboards/{b['id']}/").json()["tiles"][0]
        assert tile["color"] == "blue" and tile["layouts"]["sm"]["w"] == 6
        log = c.get(url + "activity/").json()["results"][0]["detail"]["changes"]
        assert {
            "type": "Insight",
            "action": "changed",
            "field": "dashboards",
            "before": [{"id": a["id"], "name": "A"}],
            "after": [{"id": a["id"], "name": "A"}, {"id": b["id"], "name": "B"}],
        } in log
        # Deleting the insight soft-deletes its tiles in the same write.
        assert c.patch(url, json={"deleted": True}).status_code == 200
        for board_id in (a["id"], b["id"]):
            board = c.get(f"/api/projects/{tenant['id']}/dashboards/{board_id}/").json()
            assert board["tiles"] == []
        bad = c.patch(f"/api/projects/{tenant['id']}/insights/{create(c, tenant['id'])['id']}/",
                      json={"dashboards": [10**9]})  # fmt: skip
        assert bad.status_code == 400 and bad.json()["attr"] == "dashboards"


def test_another_projects_dashboard_cannot_be_used(spyglass, tenant):
    other = spyglass.new_project()
    with client(spyglass, other) as c:
        theirs = new_dashboard(c, other["id"])
    with client(spyglass, tenant) as c:
        r = c.post(f"/api/projects/{tenant['id']}/insights/",
                   json={"name": "x", "dashboards": [theirs["id"]]})  # fmt: skip
        assert r.status_code == 400 and r.json()["detail"] == "Dashboard not found"
        assert c.get(f"/api/projects/{tenant['id']}/dashboards/{theirs['id']}/").status_code == 404
        assert c.get(f"/api/projects/{other['id']}/dashboards/").status_code == 403


NESTED = """query ($p: String!, $id: BigInt!) {
  dashboard(projectId: $p, id: $id) {
    name tiles { id color insight { id name filters result createdBy { email } } }
  }
}"""


def test_one_graphql_request_reads_a_dashboard_with_tiles_and_insights(spyglass, tenant):
    with client(spyglass, tenant) as c:
        small, big = new_dashboard(c, tenant["id"]), new_dashboard(c, tenant["id"])
        for i in range(2):
            create(c, tenant["id"], name=f"s{i}", dashboards=[small["id"]])
        for i in range(20):
            create(c, tenant["id"], name=f"b{i}", dashboards=[big["id"]])
        store = spyglass.services.store

        def read(board_id: int) -> tuple[dict, int]:
            before = store.queries_run
            r = c.post(
                "/graphql",
                json={"query": NESTED, "variables": {"p": str(tenant["id"]), "id": board_id}},
            )
            return r.json(), store.queries_run - before

        small_body, small_queries = read(small["id"])
        big_body, big_queries = read(big["id"])
    tiles = big_body["data"]["dashboard"]["tiles"]
    assert len(tiles) == 20 and {t["insight"]["name"] for t in tiles} == {
        f"b{i}" for i in range(20)
    }
    assert all(t["insight"]["createdBy"]["email"] == tenant["user"]["email"] for t in tiles)
    # Batched look-ups: twenty tiles cost no more store queries than two.
    assert big_queries == small_queries, (small_queries, big_queries)
    assert len(small_body["data"]["dashboard"]["tiles"]) == 2
    assert (
        httpx.post(
            f"{spyglass.url}/graphql",
            json={"query": NESTED, "variables": {"p": str(tenant["id"]), "id": big["id"]}},
        ).json()["data"]
        is None
    )


def test_from_dashboard_merges_the_dashboards_filters_and_adds_the_tile(spyglass, tenant):
    with client(spyglass, tenant) as c:
        board = new_dashboard(c, tenant["id"], filters={"date_from": "-30d"})
        insight = create(
            c,
            tenant["id"],
            dashboards=[board["id"]],
            filters={"events": [{"id": "$pageview"}], "date_from": "-7d"},
        )
        tile = c.get(f"/api/projects/{tenant['id']}/dashboards/{board['id']}/").json()["tiles"][0]
        c.patch(f"/api/projects/{tenant['id']}/dashboards/{board['id']}/",
                json={"tiles": [{"id": tile["id"], "color": "green"}]})  # fmt: skip
        url = f"/api/projects/{tenant['id']}/insights/{insight['id']}/"
        plain = c.get(url).json()
        in_context = c.get(url, params={"from_dashboard": board["id"]}).json()
        elsewhere = new_dashboard(c, tenant["id"])
        wrong = c.get(url, params={"from_dashboard": elsewhere["id"]})
    assert plain["filters"]["date_from"] == "-7d" and "color" not in plain
    assert in_context["filters"]["date_from"] == "-30d" and in_context["color"] == "green"
    assert wrong.status_code == 400 and wrong.json()["attr"] == "from_dashboard"


COMPUTED = """query ($p: String!, $id: BigInt!, $refresh: JSON) {
  dashboard(projectId: $p, id: $id, refresh: $refresh) {
    filters tiles { color lastRefresh isCached
                    insight { name filters result lastRefresh isCached } } } }"""


def test_one_graphql_request_computes_tile_results_in_the_dashboards_context(spyglass, tenant):
    """Five pageviews and two signups: three pageviews this week, two 20 days ago. The insights
    ask for a week; the dashboard's `-30d` wins on its tiles, as PostHog merges them."""
    now = datetime.now(UTC)
    batch = [{"event": event, "distinct_id": "u", "timestamp": (now - ago).isoformat()}
             for event, ago in [("$pageview", timedelta(hours=1))] * 3
             + [("$pageview", timedelta(days=20)), ("$pageview", timedelta(days=20)),
                ("signed_up", timedelta(hours=2)), ("signed_up", timedelta(days=20))]]  # fmt: skip
    sent = httpx.post(f"{spyglass.url}/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert sent.status_code == 200
    with client(spyglass, tenant) as c:
        board = new_dashboard(c, tenant["id"], filters={"date_from": "-30d"})
        for event in ("$pageview", "signed_up"):
            create(c, tenant["id"], name=event, dashboards=[board["id"]],
                   filters={"events": [{"id": event}], "date_from": "-7d",
                            "display": "BoldNumber"})  # fmt: skip

        def read(refresh) -> dict:
            r = c.post("/graphql", json={"query": COMPUTED, "variables": {
                "p": str(tenant["id"]), "id": board["id"], "refresh": refresh}})  # fmt: skip
            assert "errors" not in r.json(), r.json()
            return r.json()["data"]["dashboard"]

        before = read(None)  # nothing computed yet: the cache has nothing to give
        computed = read(True)
        cached = read(None)
        rest = c.get(f"/api/projects/{tenant['id']}/dashboards/{board['id']}/").json()
    assert [t["insight"]["result"] for t in before["tiles"]] == [None, None]
    assert [t["isCached"] for t in before["tiles"]] == [False, False]
    totals = {t["insight"]["name"]: t["insight"]["result"][0]["aggregated_value"]
              for t in computed["tiles"]}  # fmt: skip
    assert totals == {"$pageview": 5, "signed_up": 2}  # -30d, not the insights' -7d
    assert all(t["insight"]["filters"]["date_from"] == "-30d" for t in computed["tiles"])
    for fresh, again, served in zip(computed["tiles"], cached["tiles"], rest["tiles"],
                                    strict=True):  # fmt: skip
        assert fresh["isCached"] is False and fresh["lastRefresh"] is not None
        assert fresh["lastRefresh"] == fresh["insight"]["lastRefresh"]
        assert again["isCached"] is True and again["lastRefresh"] == fresh["lastRefresh"]
        assert again["insight"]["result"] == fresh["insight"]["result"]
        assert served["is_cached"] is True and served["insight"]["result"] == fresh["insight"][
            "result"]  # fmt: skip


def test_a_tile_edit_racing_its_insights_removal_never_brings_the_tile_back(spyglass, tenant):
    """Removing an insight from a dashboard while someone recolours its tile: whichever goes
    first, the tile ends removed (the recolour either lands before or finds no tile)."""
    from gateway.errors import NotFound
    from resolvers.dashboards import Dashboards
    from resolvers.insights import Insights

    project, user = tenant["id"], tenant["user"]["id"]

    async def race(metadata, board: int) -> bool:
        insights, boards = Insights(metadata), Dashboards(metadata)
        insight = await insights.create(project, user, {"name": "racer", "dashboards": [board]})
        (tile,) = [t for t in await boards.tiles_of(project, board)
                   if t["insight_id"] == insight["id"]]  # fmt: skip

        async def recolour():
            with contextlib.suppress(NotFound):  # the removal went first
                await boards.update_tile(project, board, tile["id"], {"color": "red"})

        await asyncio.gather(insights.update(project, insight["id"], user, {"dashboards": []}),
                             recolour())  # fmt: skip
        on_board = [t for t in await boards.tiles_of(project, board)
                    if t["insight_id"] == insight["id"]]  # fmt: skip
        return not on_board and (await insights.get(project, insight["id"]))["dashboards"] == []

    async def main() -> list[bool]:
        metadata = spyglass.services.metadata
        board = await Dashboards(metadata).create(project, user, {"name": "Raced"})
        return [await race(metadata, board["id"]) for _ in range(30)]

    assert all(spyglass.run(main()))
